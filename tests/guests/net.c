#include "virtio.h"

/* Sends one Ethernet frame (ethertype 0x88b5) through virtio-net and waits for one back, printing its payload. */
static struct virtq qs[2] __attribute__((aligned(4096)));
static u8 rxbuf[4][2048];
static u8 txbuf[2048];
static struct vdev dev;

void guest_main(const u8 *bp)
{
    if (!virtio_find(boot_cmdline(bp), 0, &dev)) { puts("net: no device on the command line\n"); return; }
    int rc = virtio_init(&dev, 1, 1u << 5 /* MAC */, qs, 2);
    if (rc) { puts("net: init failed "); putdec(-rc); puts("\n"); return; }
    u8 mac[6];
    for (int i = 0; i < 6; i++) mac[i] = mmio_read8(dev.base + 0x100 + i);
    puts("net: mac=");
    for (int i = 0; i < 6; i++) { putc("0123456789abcdef"[mac[i] >> 4]); putc("0123456789abcdef"[mac[i] & 15]); if (i < 5) putc(':'); }
    puts("\n");

    struct virtq *rx = &qs[0], *tx = &qs[1];
    for (int i = 0; i < 4; i++) {
        rx->desc[i] = (struct virtq_desc){ (u64)rxbuf[i], sizeof rxbuf[i], VIRTQ_DESC_F_WRITE, 0 };
        rx->avail.ring[i] = i;
    }
    barrier();
    rx->avail.idx = 4;
    barrier();
    mmio_write32(dev.base + 0x50, 0);

    /* 12-byte virtio_net_hdr_v1 (all zero: no offloads), then the frame. */
    memset(txbuf, 0, sizeof txbuf);
    u8 *f = txbuf + 12;
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x88; f[13] = 0xb5;
    const char *payload = "kraud guest frame";
    memcpy(f + 14, payload, strlen(payload));
    u32 flen = 14 + 46;
    tx->desc[0] = (struct virtq_desc){ (u64)txbuf, 12 + flen, 0, 0 };
    virtio_submit(&dev, tx, 1, 0);
    if (virtio_wait_used(tx, 0) < 0) { puts("net: tx timeout\n"); return; }
    puts("net: sent\n");

    for (int frames = 0; frames < 64; frames++) {
        u32 id;
        int len = virtio_wait_used(rx, &id);
        if (len < 0) { puts("net: rx timeout\n"); return; }
        u8 *g = rxbuf[id % 4] + 12;
        if (len >= 12 + 14 && g[12] == 0x88 && g[13] == 0xb5) {
            puts("net: received ");
            putdec(len - 12);
            puts(" bytes: ");
            putbytes(g + 14, 16);
            puts("\nnet done\n");
            return;
        }
        /* Some other frame (the host's own chatter): give the buffer back and keep waiting. */
        rx->avail.ring[rx->avail.idx % QSIZE] = (u16)id;
        barrier();
        rx->avail.idx++;
        barrier();
        mmio_write32(dev.base + 0x50, 0);
    }
    puts("net: no frame of ours\n");
}

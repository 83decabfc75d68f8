#include "virtio.h"

/*
 * A pod's guest as the Pod kind's tests need it: reads the config disk (device 0, a tar whose first file is the
 * guest's launch.json), prints the pod id and the first layer's digest from it, reads the first layer's disk
 * (device 2) and prints its first bytes (a gzip's magic), then sends an Ethernet frame (ethertype 0x88b5) on the
 * network device (the last device) every few milliseconds, forever, so a capture on the tap opened late still sees it.
 */
#define VIRTIO_BLK_T_IN 0

static struct virtq bq[2] __attribute__((aligned(4096)));
static struct virtq nq[2] __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } hdr;
static u8 status;
static u8 config[4096];
static u8 txbuf[128];

static int read_sectors(struct vdev *dev, struct virtq *q, u64 sector, u8 *buf, u32 len)
{
    hdr.type = VIRTIO_BLK_T_IN; hdr.reserved = 0; hdr.sector = sector;
    status = 0xff;
    q->desc[0] = (struct virtq_desc){ (u64)&hdr, sizeof hdr, VIRTQ_DESC_F_NEXT, 1 };
    q->desc[1] = (struct virtq_desc){ (u64)buf, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
    q->desc[2] = (struct virtq_desc){ (u64)&status, 1, VIRTQ_DESC_F_WRITE, 0 };
    virtio_submit(dev, q, 0, 0);
    u32 id;
    if (virtio_wait_used(q, &id) < 0) return -1;
    return status;
}

/* Prints the JSON string value after `key` (e.g. "\"id\": \""), up to its closing quote. */
static void print_value(const char *json, const char *key, const char *label)
{
    const char *p = strstr(json, key);
    puts(label);
    if (!p) { puts("(none)\n"); return; }
    p += strlen(key);
    while (*p && *p != '"') putc(*p++);
    puts("\n");
}

void guest_main(const u8 *bp)
{
    const char *cmdline = boot_cmdline(bp);
    struct vdev cfg, layer, net;
    int last = -1;
    struct vdev probe;
    while (virtio_find(cmdline, last + 1, &probe)) last++;
    if (last < 2 || !virtio_find(cmdline, 0, &cfg) || !virtio_find(cmdline, 2, &layer) || !virtio_find(cmdline, last, &net)) {
        puts("pod: devices missing\n");
        for (;;) __asm__ volatile("hlt");
    }

    if (virtio_init(&cfg, 2, 0, &bq[0], 1) || read_sectors(&cfg, &bq[0], 0, config, 2048) != 0) {
        puts("pod: config disk unreadable\n");
    } else {
        const char *json = (const char *)config + 512; /* after the tar header */
        puts("pod: config file "); putbytes(config, 11); puts("\n");
        print_value(json, "\"id\": \"", "pod: id=");
        print_value(json, "\"digest\": \"", "pod: layer digest=");
    }
    static u8 head[512];
    if (virtio_init(&layer, 2, 0, &bq[1], 1) || read_sectors(&layer, &bq[1], 0, head, sizeof head) != 0) {
        puts("pod: layer disk unreadable\n");
    } else {
        puts("pod: layer magic=");
        for (int i = 0; i < 2; i++) { putc("0123456789abcdef"[head[i] >> 4]); putc("0123456789abcdef"[head[i] & 15]); }
        puts("\n");
    }

    if (mmio_read32(net.base + 0x08) != 1 || virtio_init(&net, 1, 1u << 5 /* MAC */, nq, 2)) {
        puts("pod: no network device\n");
        for (;;) __asm__ volatile("hlt");
    }
    u8 mac[6];
    for (int i = 0; i < 6; i++) mac[i] = mmio_read8(net.base + 0x100 + i);
    memset(txbuf, 0, sizeof txbuf);
    u8 *f = txbuf + 12; /* after the virtio_net_hdr_v1 */
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x88; f[13] = 0xb5;
    const char *payload = "kraud pod frame";
    memcpy(f + 14, payload, strlen(payload));
    puts("pod: sending frames\n");
    struct virtq *tx = &nq[1];
    for (;;) {
        tx->desc[0] = (struct virtq_desc){ (u64)txbuf, 12 + 60, 0, 0 };
        virtio_submit(&net, tx, 1, 0);
        if (virtio_wait_used(tx, 0) < 0) { puts("pod: tx timeout\n"); for (;;) __asm__ volatile("hlt"); }
        for (volatile u64 i = 0; i < 200000; i++) { }
    }
}

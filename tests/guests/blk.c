#include "virtio.h"

/* Reads sector 0 (the test filled it), writes sector 1, flushes, reads the device ID, through virtio-blk. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

static struct virtq q __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } hdr;
static u8 data[512];
static u8 status;
static struct vdev dev;

static int request(u32 type, u64 sector, u32 len, int device_writes)
{
    hdr.type = type; hdr.reserved = 0; hdr.sector = sector;
    status = 0xff;
    q.desc[0] = (struct virtq_desc){ (u64)&hdr, sizeof hdr, VIRTQ_DESC_F_NEXT, 1 };
    int n = 1;
    if (len) {
        q.desc[1] = (struct virtq_desc){ (u64)data, len, VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0), 2 };
        n = 2;
    } else {
        q.desc[0].next = 2;
    }
    q.desc[2] = (struct virtq_desc){ (u64)&status, 1, VIRTQ_DESC_F_WRITE, 0 };
    (void)n;
    virtio_submit(&dev, &q, 0, 0);
    u32 id;
    if (virtio_wait_used(&q, &id) < 0) { puts("blk: timeout\n"); return -1; }
    return status;
}

void guest_main(const u8 *bp)
{
    if (!virtio_find(boot_cmdline(bp), 0, &dev)) { puts("blk: no device on the command line\n"); return; }
    puts("blk: device at "); puthex(dev.base); puts(" irq "); putdec(dev.irq); puts("\n");
    int rc = virtio_init(&dev, 2, 1u << 9 /* FLUSH */, &q, 1);
    if (rc) { puts("blk: init failed "); putdec(-rc); puts("\n"); return; }
    puts("blk: capacity "); putdec(*(volatile u64 *)(dev.base + 0x100)); puts(" sectors\n");

    if (request(VIRTIO_BLK_T_IN, 0, 512, 1) != 0) { puts("blk: read failed\n"); return; }
    /* The device raised its interrupt (through irqfd) and says why; acknowledge it. */
    u32 isr = mmio_read32(dev.base + 0x60);
    mmio_write32(dev.base + 0x64, isr);
    puts("blk: isr="); putdec(isr); puts(" after ack="); putdec(mmio_read32(dev.base + 0x60)); puts("\n");
    puts("blk: sector0="); putbytes(data, 32); puts("\n");

    memset(data, 0, sizeof data);
    const char *msg = "written by the kraud test guest";
    memcpy(data, msg, strlen(msg));
    for (int i = 64; i < 512; i++) data[i] = (u8)i;
    rc = request(VIRTIO_BLK_T_OUT, 1, 512, 0);
    puts("blk: write status="); putdec(rc); puts("\n");
    rc = request(VIRTIO_BLK_T_FLUSH, 0, 0, 0);
    puts("blk: flush status="); putdec(rc); puts("\n");
    memset(data, 0, sizeof data);
    rc = request(VIRTIO_BLK_T_GET_ID, 0, 20, 1);
    puts("blk: id status="); putdec(rc); puts(" id="); putbytes(data, 20); puts("\n");
    puts("blk done\n");
}

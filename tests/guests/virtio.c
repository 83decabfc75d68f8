#include "virtio.h"

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0

static u64 parse_hex(const char **p)
{
    u64 v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9') v = v * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (c - 'a' + 10);
        else return v;
    }
}

int virtio_find(const char *cmdline, int n, struct vdev *dev)
{
    const char *key = "virtio_mmio.device=4K@0x";
    const char *p = cmdline;
    for (int i = 0; (p = strstr(p, key)); i++) {
        p += strlen(key);
        u64 base = parse_hex(&p);
        if (*p != ':') return 0;
        p++;
        u32 irq = 0;
        while (*p >= '0' && *p <= '9') irq = irq * 10 + (*p++ - '0');
        if (i == n) { dev->base = base; dev->irq = irq; return 1; }
    }
    return 0;
}

static void w(struct vdev *d, u32 r, u32 v) { mmio_write32(d->base + r, v); }
static u32 r(struct vdev *d, u32 r) { return mmio_read32(d->base + r); }

int virtio_init(struct vdev *dev, u32 device_id, u32 features, struct virtq *qs, int nq)
{
    if (r(dev, R_MAGIC) != 0x74726976 || r(dev, R_VERSION) != 2 || r(dev, R_DEVICE_ID) != device_id) return -1;
    w(dev, R_STATUS, 0);
    w(dev, R_STATUS, 1);
    w(dev, R_STATUS, 1 | 2);
    w(dev, R_DEVICE_FEATURES_SEL, 1);
    if (!(r(dev, R_DEVICE_FEATURES) & 1)) return -2; /* VIRTIO_F_VERSION_1 */
    w(dev, R_DEVICE_FEATURES_SEL, 0);
    u32 offered = r(dev, R_DEVICE_FEATURES);
    w(dev, R_DRIVER_FEATURES_SEL, 0);
    w(dev, R_DRIVER_FEATURES, offered & features);
    w(dev, R_DRIVER_FEATURES_SEL, 1);
    w(dev, R_DRIVER_FEATURES, 1);
    w(dev, R_STATUS, 1 | 2 | 8);
    if (!(r(dev, R_STATUS) & 8)) return -3;
    for (int q = 0; q < nq; q++) {
        struct virtq *vq = &qs[q];
        memset(vq, 0, sizeof *vq);
        w(dev, R_QUEUE_SEL, q);
        if (r(dev, R_QUEUE_NUM_MAX) < QSIZE) return -4;
        w(dev, R_QUEUE_NUM, QSIZE);
        w(dev, R_QUEUE_DESC, (u32)(u64)vq->desc);
        w(dev, R_QUEUE_DESC + 4, (u32)((u64)vq->desc >> 32));
        w(dev, R_QUEUE_DRIVER, (u32)(u64)&vq->avail);
        w(dev, R_QUEUE_DRIVER + 4, (u32)((u64)&vq->avail >> 32));
        w(dev, R_QUEUE_DEVICE, (u32)(u64)&vq->used);
        w(dev, R_QUEUE_DEVICE + 4, (u32)((u64)&vq->used >> 32));
        w(dev, R_QUEUE_READY, 1);
    }
    w(dev, R_STATUS, 1 | 2 | 8 | 4);
    return (r(dev, R_STATUS) & 0x40) ? -5 : 0;
}

void virtio_add(struct virtq *vq, u16 head)
{
    vq->avail.ring[vq->avail.idx % QSIZE] = head;
    barrier();
    vq->avail.idx++;
}

void virtio_notify(struct vdev *dev, int q)
{
    barrier();
    w(dev, R_QUEUE_NOTIFY, q);
}

void virtio_submit(struct vdev *dev, struct virtq *vq, int q, u16 head)
{
    virtio_add(vq, head);
    virtio_notify(dev, q);
}

int virtio_wait_used(struct virtq *vq, u32 *id)
{
    for (u64 spin = 0; spin < 4000000000UL; spin++) {
        if (*(volatile u16 *)&vq->used.idx != vq->last_used) {
            barrier();
            struct virtq_used_elem e = vq->used.ring[vq->last_used % QSIZE];
            vq->last_used++;
            if (id) *id = e.id;
            return (int)e.len;
        }
        __asm__ volatile("pause");
    }
    return -1;
}

/* A minimal polling virtio-mmio (version 2) driver with split queues of 16 entries, for the test guests. */
#pragma once
#include "lib.h"

#define QSIZE 16
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

struct virtq_desc { u64 addr; u32 len; u16 flags; u16 next; };
struct virtq_avail { u16 flags; u16 idx; u16 ring[QSIZE]; u16 used_event; };
struct virtq_used_elem { u32 id; u32 len; };
struct virtq_used { u16 flags; u16 idx; struct virtq_used_elem ring[QSIZE]; u16 avail_event; };

struct virtq {
    struct virtq_desc desc[QSIZE] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    u16 last_used;
};

struct vdev { u64 base; u32 irq; };

/* The n-th device the kernel command line announces (virtio_mmio.device=4K@0xADDR:IRQ); 0 when absent. */
int virtio_find(const char *cmdline, int n, struct vdev *dev);
/* Reset, negotiate VERSION_1 plus `features` (low 32 bits), set up `nq` queues, DRIVER_OK. 0 on success. */
int virtio_init(struct vdev *dev, u32 device_id, u32 features, struct virtq *qs, int nq);
/* Makes descriptor chain `head` available on queue `q` and notifies the device. */
void virtio_submit(struct vdev *dev, struct virtq *vq, int q, u16 head);
/* Makes `head` available without a notify (a batch ends with one virtio_notify, as Linux's drivers do). */
void virtio_add(struct virtq *vq, u16 head);
void virtio_notify(struct vdev *dev, int q);
/* Waits for the next used element; returns its length and sets *id. -1 on timeout. */
int virtio_wait_used(struct virtq *vq, u32 *id);

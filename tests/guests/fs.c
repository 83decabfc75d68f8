#include "virtio.h"

/*
 * Speaks FUSE over virtio-fs (device 26): finds the device whose tag is `fs.tag=NAME` on the command line, sends
 * FUSE_INIT, looks up and reads `fs.read=` (default hello.txt) and prints FS-READ:<content>, creates `fs.write=`
 * (default from-guest.txt) holding FS-WRITE-OK, fsyncs it, and powers off. A refused step prints its FUSE error
 * (a negative errno: -30 is EROFS). With `fs.wait=NAME` it then polls for NAME (another VM's file) and prints
 * FS-SAW:<content>. `fs.stray-notify` ends with one notify of a queue the device lacks; `fs.hold` halts at the end
 * instead of powering off (a pod's VM that stays up). With `fs.bench=NAME` it instead reads NAME whole through virtio-fs, then the same bytes from
 * the first virtio-blk device, and prints markers around each phase and the TSC cycles of each (`fs.bench-hold`:
 * halts afterwards instead of powering off).
 */
#define FUSE_LOOKUP 1
#define FUSE_OPEN 14
#define FUSE_READ 15
#define FUSE_WRITE 16
#define FUSE_RELEASE 18
#define FUSE_FSYNC 20
#define FUSE_INIT 26
#define FUSE_CREATE 35
#define CHUNK (1u << 20)

struct fuse_in_header { u32 len, opcode; u64 unique, nodeid; u32 uid, gid, pid; u16 total_extlen, padding; };
struct fuse_out_header { u32 len; int error; u64 unique; };

static struct virtq q[2] __attribute__((aligned(4096)));
static struct vdev dev;
static u8 req[4096];
static u8 resp[16 + 4096];
static u8 big[16 + CHUNK] __attribute__((aligned(4096)));
static u64 unique;

/* Sends one request on the request queue (1); returns the reply's error (0 or -errno), its payload in `out`. */
static int fuse(u32 opcode, u64 nodeid, const void *arg, u32 arglen, const char *name, u8 *out, u32 outlen)
{
    struct fuse_in_header *h = (struct fuse_in_header *)req;
    u32 namelen = name ? strlen(name) + 1 : 0;
    memset(h, 0, sizeof *h);
    h->len = sizeof *h + arglen + namelen;
    h->opcode = opcode;
    h->unique = ++unique;
    h->nodeid = nodeid;
    memcpy(req + sizeof *h, arg, arglen);
    if (name) memcpy(req + sizeof *h + arglen, name, namelen);
    q[1].desc[0] = (struct virtq_desc){ (u64)req, h->len, VIRTQ_DESC_F_NEXT, 1 };
    q[1].desc[1] = (struct virtq_desc){ (u64)out, 16 + outlen, VIRTQ_DESC_F_WRITE, 0 };
    virtio_submit(&dev, &q[1], 1, 0);
    if (virtio_wait_used(&q[1], 0) < 0) { puts("fs: timeout\n"); poweroff(); }
    struct fuse_out_header *o = (struct fuse_out_header *)out;
    if (o->unique != h->unique) { puts("fs: reply for another request\n"); poweroff(); }
    return o->error;
}

static void fail(const char *what, int error)
{
    puts("fs: "); puts(what); puts(" failed: error -"); putdec((u64)-error); puts("\n");
}

/* The value of `key` on the command line (up to the next space) into buf; 0 when absent. */
static int param(const char *cmdline, const char *key, char *buf, int size, const char *fallback)
{
    const char *p = strstr(cmdline, key);
    if (!p) {
        if (!fallback) return 0;
        memcpy(buf, fallback, strlen(fallback) + 1);
        return 1;
    }
    p += strlen(key);
    int n = 0;
    while (*p && *p != ' ' && n < size - 1) buf[n++] = *p++;
    buf[n] = 0;
    return 1;
}

static u64 lookup(const char *name, u64 *size, int *error)
{
    *error = fuse(FUSE_LOOKUP, 1, 0, 0, name, resp, 128);
    if (*error) return 0;
    *size = *(u64 *)(resp + 16 + 40 + 8); /* fuse_entry_out.attr.size */
    return *(u64 *)(resp + 16);           /* fuse_entry_out.nodeid */
}

static u64 open_file(u64 node, u32 flags, int *error)
{
    u32 in[2] = { flags, 0 };
    *error = fuse(FUSE_OPEN, node, in, sizeof in, 0, resp, 16);
    return *error ? 0 : *(u64 *)(resp + 16);
}

static int read_at(u64 node, u64 fh, u64 offset, u32 size, u8 *out)
{
    struct { u64 fh, offset; u32 size, read_flags; u64 lock_owner; u32 flags, padding; } in = { fh, offset, size, 0, 0, 0, 0 };
    int error = fuse(FUSE_READ, node, &in, sizeof in, 0, out, size);
    if (error) return error;
    return (int)(((struct fuse_out_header *)out)->len - 16);
}

static void release(u64 node, u64 fh)
{
    struct { u64 fh; u32 flags, release_flags; u64 lock_owner; } in = { fh, 0, 0, 0 };
    fuse(FUSE_RELEASE, node, &in, sizeof in, 0, resp, 0);
}

/* Prints PREFIX<content of name>; 0 on success. */
static int print_file(const char *prefix, const char *name)
{
    int error;
    u64 size, node = lookup(name, &size, &error);
    if (error) { fail("lookup", error); return error; }
    u64 fh = open_file(node, 0 /* O_RDONLY */, &error);
    if (error) { fail("open", error); return error; }
    int n = read_at(node, fh, 0, size < 4000 ? (u32)size : 4000, resp);
    release(node, fh);
    if (n < 0) { fail("read", n); return n; }
    puts(prefix); putbytes(resp + 16, n); puts("\n");
    return 0;
}

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }

static struct virtq bq __attribute__((aligned(4096)));
static struct { u32 type; u32 reserved; u64 sector; } bhdr;
static u8 bstatus;

static u64 bench_fs(const char *name, u64 *size, u64 *sum)
{
    int error;
    u64 node = lookup(name, size, &error);
    if (error) { fail("bench lookup", error); return 0; }
    u64 fh = open_file(node, 0, &error);
    if (error) { fail("bench open", error); return 0; }
    puts("FS-BENCH-FS-START\n");
    u64 t0 = rdtsc();
    for (u64 off = 0; off < *size; off += CHUNK) {
        int n = read_at(node, fh, off, CHUNK, big);
        if (n <= 0) { fail("bench read", n); return 0; }
        *sum += big[16] + big[16 + n - 1];
    }
    u64 cycles = rdtsc() - t0;
    puts("FS-BENCH-FS-END\n");
    release(node, fh);
    return cycles;
}

static u64 bench_blk(const char *cmdline, u64 size, u64 *sum)
{
    struct vdev blk;
    int found = 0;
    for (int i = 0; virtio_find(cmdline, i, &blk); i++)
        if (mmio_read32(blk.base + 0x08) == 2) { found = 1; break; }
    if (!found || virtio_init(&blk, 2, 0, &bq, 1)) { puts("fs: bench has no block device\n"); return 0; }
    puts("FS-BENCH-BLK-START\n");
    u64 t0 = rdtsc();
    for (u64 off = 0; off < size; off += CHUNK) {
        bhdr.type = 0; bhdr.reserved = 0; bhdr.sector = off / 512; bstatus = 0xff;
        u32 n = size - off < CHUNK ? (u32)((size - off + 511) & ~511UL) : CHUNK;
        bq.desc[0] = (struct virtq_desc){ (u64)&bhdr, sizeof bhdr, VIRTQ_DESC_F_NEXT, 1 };
        bq.desc[1] = (struct virtq_desc){ (u64)big + 16, n, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
        bq.desc[2] = (struct virtq_desc){ (u64)&bstatus, 1, VIRTQ_DESC_F_WRITE, 0 };
        virtio_submit(&blk, &bq, 0, 0);
        if (virtio_wait_used(&bq, 0) < 0 || bstatus != 0) { puts("fs: bench block read failed\n"); return 0; }
        u32 last = size - off < CHUNK ? (u32)(size - off) : CHUNK;
        *sum += big[16] + big[16 + last - 1];
    }
    u64 cycles = rdtsc() - t0;
    puts("FS-BENCH-BLK-END\n");
    return cycles;
}

/*
 * Reads `name` whole through virtio-fs and as many bytes from the first virtio-blk device (in that order, or the block
 * device first with `fs.bench-blk-first`); prints both times and whether both read the same bytes.
 */
static void bench(const char *cmdline, const char *name)
{
    u64 size = 0, sum = 0, bsum = 0, fs_cycles, blk_cycles;
    if (strstr(cmdline, "fs.bench-blk-first")) {
        int error;
        lookup(name, &size, &error);
        if (error) { fail("bench lookup", error); return; }
        blk_cycles = bench_blk(cmdline, size, &bsum);
        fs_cycles = bench_fs(name, &size, &sum);
    } else {
        fs_cycles = bench_fs(name, &size, &sum);
        blk_cycles = fs_cycles ? bench_blk(cmdline, size, &bsum) : 0;
    }
    if (!fs_cycles || !blk_cycles) return;
    puts("FS-BENCH bytes="); putdec(size); puts(" fs_cycles="); putdec(fs_cycles); puts(" blk_cycles="); putdec(blk_cycles);
    puts(sum == bsum ? " same=yes\n" : " same=no\n");
}

void guest_main(const u8 *bp)
{
    const char *cmdline = boot_cmdline(bp);
    char tag[40], read_name[64], write_name[64], wait_name[64], bench_name[64];
    if (!param(cmdline, "fs.tag=", tag, sizeof tag, 0)) { puts("fs: no fs.tag= on the command line\n"); poweroff(); }
    param(cmdline, "fs.read=", read_name, sizeof read_name, "hello.txt");
    param(cmdline, "fs.write=", write_name, sizeof write_name, "from-guest.txt");

    int found = 0;
    for (int i = 0; !found && virtio_find(cmdline, i, &dev); i++) {
        if (mmio_read32(dev.base + 0x08) != 26) continue;
        char devtag[37];
        for (int j = 0; j < 36; j++) devtag[j] = (char)mmio_read8(dev.base + 0x100 + j);
        devtag[36] = 0;
        found = !memcmp(devtag, tag, strlen(tag) + 1);
    }
    if (!found) { puts("fs: no virtio-fs device tagged "); puts(tag); puts("\n"); poweroff(); }
    int rc = virtio_init(&dev, 26, 0, q, 2);
    if (rc) { puts("fs: init failed "); putdec(-rc); puts("\n"); poweroff(); }
    puts("fs: device "); puts(tag); puts(" queues="); putdec(*(volatile u32 *)(dev.base + 0x100 + 36)); puts("\n");

    u32 init[4] = { 7, 31, 0, 0 };
    int error = fuse(FUSE_INIT, 0, init, sizeof init, 0, resp, 64);
    if (error) { fail("init", error); poweroff(); }
    puts("fs: fuse "); putdec(*(u32 *)(resp + 16)); puts("."); putdec(*(u32 *)(resp + 20)); puts("\n");

    if (param(cmdline, "fs.bench=", bench_name, sizeof bench_name, 0)) {
        bench(cmdline, bench_name);
        if (strstr(cmdline, "fs.bench-hold")) for (;;) __asm__ volatile("hlt"); /* so the host can read the VMM's memory */
        poweroff();
    }

    print_file("FS-READ:", read_name);

    struct { u32 flags, mode, umask, open_flags; } create = { 1 | 0x40 | 0x200 /* O_WRONLY|O_CREAT|O_TRUNC */, 0100644, 022, 0 };
    error = fuse(FUSE_CREATE, 1, &create, sizeof create, write_name, resp, 128 + 16);
    if (error) { fail("create", error); puts("FS-WRITE-ERROR:"); putdec((u64)-error); puts("\n"); poweroff(); }
    u64 node = *(u64 *)(resp + 16), fh = *(u64 *)(resp + 16 + 128);
    const char *text = "FS-WRITE-OK";
    struct { u64 fh, offset; u32 size, write_flags; u64 lock_owner; u32 flags, padding; char data[16]; } w = { fh, 0, strlen(text), 0, 0, 0, 0, {0} };
    memcpy(w.data, text, strlen(text));
    error = fuse(FUSE_WRITE, node, &w, 40 + strlen(text), 0, resp, 8);
    if (error || *(u32 *)(resp + 16) != strlen(text)) { fail("write", error); poweroff(); }
    struct { u64 fh; u32 fsync_flags, padding; } sync = { fh, 0, 0 };
    error = fuse(FUSE_FSYNC, node, &sync, sizeof sync, 0, resp, 0);
    if (error) { fail("fsync", error); poweroff(); }
    release(node, fh);
    puts("fs: wrote "); puts(write_name); puts("\n");

    if (param(cmdline, "fs.wait=", wait_name, sizeof wait_name, 0)) {
        u64 size;
        for (u64 tries = 0;; tries++) {
            lookup(wait_name, &size, &error);
            if (!error && size > 0) break;
            if (tries > 50000000) { puts("fs: never saw "); puts(wait_name); puts("\n"); poweroff(); }
        }
        print_file("FS-SAW:", wait_name);
    }
    /* A notify for a queue the device does not have: no ioeventfd matches it, so it exits to the VMM (which counts it). */
    if (strstr(cmdline, "fs.stray-notify")) mmio_write32(dev.base + 0x50, 7);
    if (strstr(cmdline, "fs.hold")) { puts("fs: holding\n"); for (;;) __asm__ volatile("hlt"); }
    poweroff();
}

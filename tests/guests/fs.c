#include "virtio.h"

/*
 * Speaks FUSE over virtio-fs (device 26): finds the device whose tag is `fs.tag=NAME` on the command line, sends
 * FUSE_INIT, looks up and reads `fs.read=` (default hello.txt) and prints FS-READ:<content>, creates `fs.write=`
 * (default from-guest.txt) holding FS-WRITE-OK, fsyncs it, and powers off. A refused step prints its FUSE error
 * (a negative errno: -30 is EROFS). With `fs.wait=NAME` it then polls for NAME (another VM's file) and prints
 * FS-SAW:<content>. `fs.stray-notify` ends with one notify of a queue the device lacks; `fs.hold` halts at the end
 * instead of powering off (a pod's VM that stays up). With `fs.bench=NAME` it instead reads NAME whole through
 * virtio-fs and the same bytes from the first virtio-blk device (`fs.bench-depth=`, `fs.bench-slice=`: see bench()),
 * and prints the TSC cycles of each (`fs.bench-hold`: halts afterwards instead of powering off).
 */
#define FUSE_LOOKUP 1
#define FUSE_OPEN 14
#define FUSE_READ 15
#define FUSE_WRITE 16
#define FUSE_RELEASE 18
#define FUSE_FSYNC 20
#define FUSE_INIT 26
#define FUSE_CREATE 35
#define FUSE_ASYNC_READ (1u << 0)
#define FUSE_BIG_WRITES (1u << 5)
#define FUSE_MAX_PAGES (1u << 22)

struct fuse_in_header { u32 len, opcode; u64 unique, nodeid; u32 uid, gid, pid; u16 total_extlen, padding; };
struct fuse_out_header { u32 len; int error; u64 unique; };

static struct virtq q[2] __attribute__((aligned(4096)));
static struct vdev dev;
static u8 req[4096];
static u8 resp[16 + 4096];
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

/*
 * The benchmark reads with what a Linux guest uses on both devices: requests of `chunk` bytes (max_pages from
 * FUSE_INIT, 256 pages = 1 MiB from virtiofsd; the same size on the block device), each into its own page-aligned
 * buffer, up to `depth` requests in flight (fs.bench-depth=N, default 4: Linux's readahead keeps several), one notify
 * per batch of new requests, completions taken in whatever order the device returns them. Each request is three
 * descriptors on either device: virtio-fs: FUSE_READ in, fuse_out_header, data; virtio-blk: header, data, status.
 * This guest's instructions run emulated on PVM (about 1.5 us each), so the per-request path is kept as short on
 * the virtio-fs side as on the block side: a request is a few stores into a prepared slot, not a built message.
 */
#define CHUNK_MAX (1u << 20)
#define DEPTH_MAX 4
static u32 chunk = 32 * 4096; /* FUSE's default without FUSE_MAX_PAGES */
static u8 data[DEPTH_MAX][CHUNK_MAX] __attribute__((aligned(4096)));
static struct { struct fuse_in_header h; struct { u64 fh, offset; u32 size, read_flags; u64 lock_owner; u32 flags, padding; } r; } rq[DEPTH_MAX];
static struct fuse_out_header ro[DEPTH_MAX];
static struct { u32 type; u32 reserved; u64 sector; } bhdr[DEPTH_MAX];
static u8 bstatus[DEPTH_MAX];
static struct virtq bq __attribute__((aligned(4096)));
static struct vdev blk;

/* One device's side of the benchmark: `fill` writes slot s's request for len bytes at off; `got` is what it delivered. */
struct stream {
    struct vdev *dev;
    struct virtq *vq;
    int queue;
    void (*fill)(int s, u64 off, u32 len);
    int (*got)(int s);
};

static void fs_fill(int s, u64 off, u32 len)
{
    rq[s].h.unique = ++unique;
    rq[s].r.offset = off;
    rq[s].r.size = len;
    q[1].desc[3 * s] = (struct virtq_desc){ (u64)&rq[s], sizeof rq[s], VIRTQ_DESC_F_NEXT, 3 * s + 1 };
    q[1].desc[3 * s + 1] = (struct virtq_desc){ (u64)&ro[s], sizeof ro[s], VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * s + 2 };
    q[1].desc[3 * s + 2] = (struct virtq_desc){ (u64)data[s], len, VIRTQ_DESC_F_WRITE, 0 };
}

static int fs_got(int s)
{
    if (ro[s].error) return ro[s].error;
    return ro[s].unique == rq[s].h.unique ? (int)(ro[s].len - sizeof ro[s]) : -1;
}

static void blk_fill(int s, u64 off, u32 len)
{
    bhdr[s].type = 0; /* VIRTIO_BLK_T_IN */
    bhdr[s].sector = off / 512;
    bstatus[s] = 0xff;
    bq.desc[3 * s] = (struct virtq_desc){ (u64)&bhdr[s], sizeof bhdr[s], VIRTQ_DESC_F_NEXT, 3 * s + 1 };
    bq.desc[3 * s + 1] = (struct virtq_desc){ (u64)data[s], (len + 511) & ~511u, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * s + 2 };
    bq.desc[3 * s + 2] = (struct virtq_desc){ (u64)&bstatus[s], 1, VIRTQ_DESC_F_WRITE, 0 };
}

static int blk_got(int s) { return bstatus[s] == 0 ? (int)bq.desc[3 * s + 1].len : -5; }

/*
 * Reads bytes [from, to) through the stream, up to `depth` requests in flight; adds its TSC cycles to *cycles and
 * lowers *fastest to them: the fastest slice is what the device does when nothing else on the host got in the way,
 * which a loaded host disturbs far less than the totals.
 */
static int stream_read(struct stream *st, u64 from, u64 to, int depth, u64 *sum, u64 *cycles, u64 *fastest)
{
    u64 at[DEPTH_MAX];
    int free[DEPTH_MAX], nfree = depth;
    for (int s = 0; s < depth; s++) free[s] = s;
    u64 next = from, done = from;
    u64 t0 = rdtsc();
    while (done < to) {
        int added = 0;
        for (; nfree && next < to; next += chunk, added = 1) {
            int s = free[--nfree];
            at[s] = next;
            st->fill(s, next, to - next < chunk ? (u32)(to - next) : chunk);
            virtio_add(st->vq, (u16)(3 * s));
        }
        if (added) virtio_notify(st->dev, st->queue);
        u32 id;
        if (virtio_wait_used(st->vq, &id) < 0) { puts("fs: bench timeout\n"); return -1; }
        int s = (int)id / 3;
        u32 want = to - at[s] < chunk ? (u32)(to - at[s]) : chunk;
        int n = st->got(s);
        if (n < (int)want) { fail("bench read", n < 0 ? n : -5); return -1; }
        *sum += data[s][0] + data[s][want - 1];
        done += want;
        free[nfree++] = s;
    }
    u64 took = rdtsc() - t0;
    *cycles += took;
    if (took < *fastest) *fastest = took;
    return 0;
}

/*
 * Reads `name` whole through virtio-fs and the same bytes from the first virtio-blk device, in alternating slices of
 * fs.bench-slice=MiB (default 16; virtio-fs first in even slices, the block device first in odd ones), so that both
 * devices meet the same host load; prints the TSC cycles each device took in all and in its fastest whole slice, and
 * whether both read the same bytes.
 */
static void bench(const char *cmdline, const char *name)
{
    char arg[8];
    param(cmdline, "fs.bench-depth=", arg, sizeof arg, "4");
    int depth = arg[0] - '0';
    if (depth < 1 || depth > DEPTH_MAX || arg[1]) { puts("fs: fs.bench-depth= must be 1 to 4\n"); return; }
    param(cmdline, "fs.bench-slice=", arg, sizeof arg, "16");
    u64 slice = 0;
    for (const char *p = arg; *p >= '0' && *p <= '9'; p++) slice = slice * 10 + (u64)(*p - '0');
    if (!slice) { puts("fs: fs.bench-slice= must be a number of MiB\n"); return; }
    slice <<= 20;
    int found = 0;
    for (int i = 0; !found && virtio_find(cmdline, i, &blk); i++) found = mmio_read32(blk.base + 0x08) == 2;
    if (!found || virtio_init(&blk, 2, 0, &bq, 1)) { puts("fs: bench has no block device\n"); return; }
    int error;
    u64 size, node = lookup(name, &size, &error);
    if (error) { fail("bench lookup", error); return; }
    u64 fh = open_file(node, 0, &error);
    if (error) { fail("bench open", error); return; }
    for (int s = 0; s < depth; s++) {
        rq[s].h = (struct fuse_in_header){ .len = sizeof rq[s], .opcode = FUSE_READ, .nodeid = node };
        rq[s].r.fh = fh;
    }
    struct stream fs = { &dev, &q[1], 1, fs_fill, fs_got }, bd = { &blk, &bq, 0, blk_fill, blk_got };
    puts("fs: bench chunk="); putdec(chunk); puts(" depth="); putdec(depth); puts(" slice="); putdec(slice >> 20); puts("M\n");
    u64 sum = 0, bsum = 0, fs_cycles = 0, blk_cycles = 0, fs_fastest = ~0UL, blk_fastest = ~0UL;
    puts("FS-BENCH-START\n");
    for (u64 from = 0, k = 0; from < size; from += slice, k++) {
        u64 to = size - from < slice ? size : from + slice, scratch = ~0UL;
        int whole = to - from == slice; /* only whole slices count for the fastest */
        u64 *fsf = whole ? &fs_fastest : &scratch, *blkf = whole ? &blk_fastest : &scratch;
        int failed = k & 1 ? stream_read(&bd, from, to, depth, &bsum, &blk_cycles, blkf) ||
                                 stream_read(&fs, from, to, depth, &sum, &fs_cycles, fsf)
                           : stream_read(&fs, from, to, depth, &sum, &fs_cycles, fsf) ||
                                 stream_read(&bd, from, to, depth, &bsum, &blk_cycles, blkf);
        if (failed) return;
    }
    puts("FS-BENCH-END\n");
    release(node, fh);
    puts("FS-BENCH bytes="); putdec(size); puts(" fs_cycles="); putdec(fs_cycles); puts(" blk_cycles="); putdec(blk_cycles);
    puts(" fs_fastest="); putdec(fs_fastest); puts(" blk_fastest="); putdec(blk_fastest);
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

    /* As Linux asks: async reads, big writes, and up to 256 pages per request (FUSE_MAX_PAGES). */
    u32 init[4] = { 7, 31, CHUNK_MAX, FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES };
    int error = fuse(FUSE_INIT, 0, init, sizeof init, 0, resp, 64);
    if (error) { fail("init", error); poweroff(); }
    u32 granted = *(u32 *)(resp + 16 + 12), max_pages = *(u16 *)(resp + 16 + 28);
    if ((granted & FUSE_MAX_PAGES) && max_pages) chunk = max_pages * 4096 < CHUNK_MAX ? max_pages * 4096 : CHUNK_MAX;
    puts("fs: fuse "); putdec(*(u32 *)(resp + 16)); puts("."); putdec(*(u32 *)(resp + 20));
    puts(" max_pages="); putdec((granted & FUSE_MAX_PAGES) ? max_pages : 32); puts("\n");

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

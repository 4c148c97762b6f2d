/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuse-hang: a FUSE mount that hangs its users, made by an unprivileged user,
 * as any tenant could. Since Linux 4.18 a user may mount FUSE in a user and
 * mount namespace of its own, on /mnt here. Processes outside the namespace
 * reach it through /proc/PID/root/mnt.
 *
 *   fuse-hang          set up, print our pid, sleep until killed
 *   fuse-hang --flush  set up, print our pid, serve until killed
 *   fuse-hang --check  set up and exit 0: can this kernel and user do it?
 *
 * Without an argument nobody serves the mount, so a path walk that enters it
 * sleeps in the kernel (fuse_get_req waits for the reply to FUSE_INIT) until
 * the walker is killed: the daemon tests give a job a working directory there
 * to prove that cgovd's event loop never waits on a tenant's path.
 *
 * With --flush we serve a flat directory in which every name is the same
 * writable regular file (we keep only its size), and answer everything but
 * FUSE_FLUSH. Every close(2) of a descriptor of that file (dup2 over it, exit
 * and execve of an O_CLOEXEC one included) sends a FLUSH and waits for the
 * reply; the kernel forces the request, so after a signal, SIGKILL included,
 * the wait is uninterruptible. A tenant can thus open /proc/PID/root/mnt/out,
 * write to it, and hand the descriptor to cgovd: whoever closes it sleeps
 * until we are killed, which aborts the connection and fails the flush. The
 * daemon tests prove that cgovd's serving threads never close a tenant's
 * descriptor.
 *
 * Plain libc and <linux/fuse.h>, not libfuse: the tests then need no package
 * beyond the kernel's fuse module.
 */
/* As config.h defines it, so that a build with or without it agrees. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Offered in FUSE_INIT. The kernel refuses a read of /dev/fuse too small
 * for a FUSE_WRITE of this size plus its headers, or below
 * FUSE_MIN_READ_BUFFER. */
#define MAX_WRITE (64 * 1024)

static _Noreturn void fail(const char *step, int err) {
        fprintf(stderr, "fuse-hang: %s: %s\n", step, strerror(err));
        exit(EXIT_FAILURE);
}

static void write_file(const char *path, const char *text) {
        size_t n = strlen(text);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                fail(path, errno);
        ssize_t k = write(fd, text, n);
        if (k < 0)
                fail(path, errno);
        /* The id maps must be written in one go: a short write is a refusal. */
        if ((size_t) k != n)
                fail(path, EIO);
        if (close(fd) < 0)
                fail(path, errno);
}

/* Size of the file, for its attributes: grown by writes, set by truncation. */
static uint64_t file_size;

static void fill_attr(struct fuse_attr *attr, uint64_t nodeid) {
        /* uid and gid stay 0: the tenant, as seen from our namespace. */
        memset(attr, 0, sizeof *attr);
        attr->ino = nodeid;
        if (nodeid == FUSE_ROOT_ID) {
                attr->mode = S_IFDIR | 0755;
                attr->nlink = 2;
        } else {
                attr->mode = S_IFREG | 0666;
                attr->nlink = 1;
                attr->size = file_size;
        }
}

/* err is 0 or a positive errno; then the kernel expects no argument. */
static void answer(int fd, uint64_t unique, int err, const void *arg, size_t len) {
        struct fuse_out_header out = {
                .len = (uint32_t) (sizeof out + len),
                .error = -err,
                .unique = unique,
        };
        struct iovec iov[2] = {
                { .iov_base = &out, .iov_len = sizeof out },
                { .iov_base = (void *) arg, .iov_len = len },
        };

        /* ENOENT: the request was interrupted and the kernel dropped it. */
        if (writev(fd, iov, 2) < 0 && errno != ENOENT)
                fail("answer on /dev/fuse", errno);
}

static _Noreturn void serve(int fd) {
        /* The union aligns the request for the structs read from it. */
        static union {
                struct fuse_in_header in;
                char bytes[FUSE_MIN_READ_BUFFER + MAX_WRITE];
        } req;
        const void *arg = req.bytes + sizeof req.in;

        for (;;) {
                /* ENOENT: the request went away as we read it; libfuse
                 * too just reads again. */
                if (read(fd, &req, sizeof req) < 0) {
                        if (errno == EINTR || errno == ENOENT)
                                continue;
                        /* ENODEV: unmounted, or the connection aborted. */
                        if (errno == ENODEV)
                                exit(EXIT_SUCCESS);
                        fail("read /dev/fuse", errno);
                }
                uint64_t unique = req.in.unique, nodeid = req.in.nodeid;

                switch (req.in.opcode) {
                case FUSE_INIT: {
                        const struct fuse_init_in *in = arg;
                        /* No flags: no writeback cache, so a write(2) is
                         * a FUSE_WRITE at once, and the kernel sends
                         * O_TRUNC as a SETATTR. The whole of
                         * fuse_init_out is read since minor 23, older
                         * than unprivileged mounts (minor 27). */
                        struct fuse_init_out out = {
                                .major = FUSE_KERNEL_VERSION,
                                .minor = in->minor < FUSE_KERNEL_MINOR_VERSION ?
                                         in->minor : FUSE_KERNEL_MINOR_VERSION,
                                .max_write = MAX_WRITE,
                        };
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_LOOKUP: {
                        /* Every name exists, so O_CREAT never creates and
                         * FUSE_CREATE is never sent. */
                        struct fuse_entry_out out = {
                                .nodeid = FUSE_ROOT_ID + 1,
                                .entry_valid = 1,
                                .attr_valid = 1,
                        };
                        fill_attr(&out.attr, out.nodeid);
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_SETATTR:
                case FUSE_GETATTR: {
                        const struct fuse_setattr_in *in = arg;
                        struct fuse_attr_out out = { .attr_valid = 1 };
                        /* O_TRUNC comes as a SETATTR of the size; the
                         * answer to either is the attributes, as now. */
                        if (req.in.opcode == FUSE_SETATTR && nodeid != FUSE_ROOT_ID &&
                            (in->valid & FATTR_SIZE))
                                file_size = in->size;
                        fill_attr(&out.attr, nodeid);
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_OPEN:
                case FUSE_OPENDIR: {
                        /* Not FOPEN_NOFLUSH: that would spare close(2). */
                        struct fuse_open_out out = { .open_flags = 0 };
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_WRITE: {
                        const struct fuse_write_in *in = arg;
                        struct fuse_write_out out = { .size = in->size };
                        if (in->offset + in->size > file_size)
                                file_size = in->offset + in->size;
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_STATFS: {
                        struct fuse_statfs_out out = { 0 };
                        answer(fd, unique, 0, &out, sizeof out);
                        break;
                }
                case FUSE_READDIR:      /* no data: the end, as if empty */
                case FUSE_RELEASE:
                case FUSE_RELEASEDIR:
                case FUSE_ACCESS:
                        answer(fd, unique, 0, NULL, 0);
                        break;
                case FUSE_GETXATTR:
                        answer(fd, unique, ENODATA, NULL, 0);
                        break;
                /* Never answered. The kernel keeps the FLUSH, so we need
                 * not: its closer waits for ever. An INTERRUPT of it gets
                 * no answer either, so it stays. The others expect none. */
                case FUSE_FLUSH:
                case FUSE_INTERRUPT:
                case FUSE_FORGET:
                case FUSE_BATCH_FORGET:
                        break;
                default:
                        answer(fd, unique, ENOSYS, NULL, 0);
                        break;
                }
        }
}

int main(int argc, char *argv[]) {
        /* Read before unshare: inside, they are the overflow ids (65534). */
        uid_t uid = getuid();
        gid_t gid = getgid();
        char map[64], opts[128];
        bool check = false, flush = false;

        if (argc == 2 && strcmp(argv[1], "--check") == 0)
                check = true;
        else if (argc == 2 && strcmp(argv[1], "--flush") == 0)
                flush = true;
        else if (argc != 1) {
                fprintf(stderr, "usage: fuse-hang [--check | --flush]\n");
                return 2;
        }

        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                fail("unshare(CLONE_NEWUSER|CLONE_NEWNS)", errno);
        /* An unprivileged gid_map is refused until setgroups(2) is disabled:
         * otherwise the map would let us drop a group that denies us access. */
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned) uid);
        write_file("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned) gid);
        write_file("/proc/self/gid_map", map);

        /* Our copy of the mounts may still share propagation with the
         * parent's: private, the FUSE mount stays in our namespace only. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                fail("make / private", errno);

        /* Opened after unshare: the kernel mounts FUSE only with a /dev/fuse
         * opened in the user namespace that owns the mount (EINVAL else). */
        int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                fail("open /dev/fuse", errno);
        /* user_id and group_id are read in our namespace: 0 is the tenant.
         * Without allow_other the kernel lets in only processes whose real,
         * effective and saved uid and gid are all the tenant's; anyone else,
         * root included (unless the fuse module's allow_sys_admin_access is
         * set), gets EACCES at once. So the hang is met only by a process
         * that has fully become the tenant, as a job does. A descriptor
         * opened by the tenant and handed to root cannot write either
         * (EOVERFLOW: root has no uid in our namespace), but its close still
         * sends FLUSH: that request is forced through. */
        snprintf(opts, sizeof opts, "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
        if (mount("fuse-hang", "/mnt", "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
                fail("mount fuse on /mnt", errno);

        if (check)
                return EXIT_SUCCESS;

        /* Closing stdout ends a reader's read(2), or bash's
         * `read pid < <(fuse-hang)`, at once: the pid is all we will ever
         * say. Not $(fuse-hang): bash waits there for us to exit. */
        if (printf("%d\n", (int) getpid()) < 0 || fflush(stdout) != 0)
                fail("write pid", errno);
        if (fclose(stdout) != 0)
                fail("close stdout", errno);

        if (flush)
                serve(fd);

        /* We never read fd: FUSE_INIT, and every request after it, waits
         * forever. Keeping fd open is what keeps the mount unanswered rather
         * than aborted: when we die, the kernel fails the waiters with
         * ENOTCONN, and the namespace and its mount go with us. */
        for (;;)
                pause();
}

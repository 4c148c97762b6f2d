/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The protocol's framing over real Unix stream socket pairs: what the kernel
 * does with bytes and SCM_RIGHTS is part of what is tested, so nothing here
 * fakes the socket. (wire_feed() is tested for itself too: the fuzzer relies
 * on it reading as wire_read() does.) */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "wire.h"

/* Open fds of this process (each test runs in its own). */
static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own */
}

/* Two Wires on a socket pair. */
static void wire_pair(Wire **a, Wire **b, int flags) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0, sv), 0);
        cr_assert_eq(wire_new(sv[0], a), 0);
        cr_assert_eq(wire_new(sv[1], b), 0);
}

/* A Wire and the raw socket of its peer, for sending what our sender never
 * would. */
static void wire_raw(Wire **w, int *raw) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        cr_assert_eq(wire_new(sv[0], w), 0);
        *raw = sv[1];
}

/* A Wire for wire_feed(): its fd is never read. */
static Wire *memory_wire(void) {
        Wire *w = NULL;
        cr_assert_eq(wire_new(open("/dev/null", O_RDONLY | O_CLOEXEC), &w), 0);
        return w;
}

static json_object *parse(const char *s) {
        json_object *o = json_tokener_parse(s);
        cr_assert_not_null(o, "test JSON: %s", s);
        return o;
}

static void send_raw(int fd, const void *p, size_t n, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 32)];
        } control;
        struct iovec iov = { .iov_base = (void *) p, .iov_len = n };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        cr_assert_leq(n_fds, 32);
        if (n_fds > 0) {
                memset(&control, 0, sizeof control);
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        cr_assert_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t) n, "sendmsg: %m");
}

static bool same_file(int a, int b) {
        struct stat sa, sb;
        cr_assert_eq(fstat(a, &sa), 0);
        cr_assert_eq(fstat(b, &sb), 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Takes one message, which must be there and match want. */
static void expect_message(Wire *w, const char *want, size_t want_fds, int fds[WIRE_FDS_MAX]) {
        json_object *m = NULL, *expected = parse(want);
        size_t n_fds = 99;
        int r = wire_take(w, &m, fds, fds ? &n_fds : NULL);
        cr_assert_eq(r, 1, "wire_take: %d for %s", r, want);
        cr_expect(json_object_equal(m, expected), "got %s, want %s", json_object_to_json_string(m), want);
        if (fds)
                cr_expect_eq(n_fds, want_fds);
        json_object_put(m);
        json_object_put(expected);
}

Test(wire, round_trip) {
        Wire *a, *b;
        json_object *m = NULL, *o = parse("{\"method\": \"io.cgov.Submit\", \"parameters\": "
                                          "{\"argv\": [\"sh\", \"-c\", \"échö\"], \"memoryMax\": 18446744073709551615, "
                                          "\"x\": -9223372036854775808, \"b\": true, \"n\": null, \"e\": {}}}");
        int fds[WIRE_FDS_MAX];
        size_t n_fds = 99;

        wire_pair(&a, &b, SOCK_NONBLOCK);
        cr_assert_eq(wire_queue(a, o, NULL, 0), 0);
        cr_expect(wire_has_output(a));
        cr_assert_eq(wire_flush(a), 1);
        cr_expect_not(wire_has_output(a));
        cr_assert_eq(wire_read(b), 1);
        cr_assert_eq(wire_take(b, &m, fds, &n_fds), 1);
        cr_expect(json_object_equal(m, o), "got %s", json_object_to_json_string(m));
        cr_expect_eq(n_fds, 0);
        cr_expect_eq(wire_take(b, &m, fds, &n_fds), 0);
        cr_expect_eq(wire_read(b), 0, "nothing more: EAGAIN is no error");
        json_object_put(m);

        /* And back the other way on the same connection. */
        cr_assert_eq(wire_queue(b, o, NULL, 0), 0);
        cr_assert_eq(wire_flush(b), 1);
        cr_assert_eq(wire_read(a), 1);
        cr_assert_eq(wire_take(a, &m, NULL, NULL), 1);
        cr_expect(json_object_equal(m, o));
        json_object_put(m);
        json_object_put(o);
        wire_free(a);
        wire_free(b);
}

Test(wire, several_messages_in_one_write) {
        static const char bytes[] = "{\"a\":1}\0 {\"b\" : [2, 3]}\n\0{}\0{\"c\":";
        Wire *w;
        int raw;

        wire_raw(&w, &raw);
        send_raw(raw, bytes, sizeof bytes - 1, NULL, 0);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"a\":1}", 0, NULL);
        /* Nothing is read while a message is buffered. */
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"b\":[2,3]}", 0, NULL);
        expect_message(w, "{}", 0, NULL);
        json_object *m = NULL;
        cr_expect_eq(wire_take(w, &m, NULL, NULL), 0, "the last one is not complete");
        cr_expect_eq(wire_read(w), 0);
        send_raw(raw, "4}", 3, NULL, 0); /* with the NUL */
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"c\":4}", 0, NULL);
        close(raw);
        cr_expect_eq(wire_read(w), -ECONNRESET);
        wire_free(w);
}

Test(wire, message_split_byte_by_byte) {
        static const char bytes[] = "{\"method\":\"io.cgov.GetInfo\",\"parameters\":{\"é\":\"€𝄞\"}}";
        Wire *w;
        int raw;

        wire_raw(&w, &raw);
        for (size_t i = 0; i < sizeof bytes - 1; i++) {
                send_raw(raw, bytes + i, 1, NULL, 0);
                cr_assert_eq(wire_read(w), 0, "complete after byte %zu of %zu?", i, sizeof bytes);
                json_object *m = NULL;
                cr_assert_eq(wire_take(w, &m, NULL, NULL), 0);
        }
        send_raw(raw, "", 1, NULL, 0);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, bytes, 0, NULL);
        close(raw);
        wire_free(w);
}

Test(wire, fds_arrive_with_their_message) {
        Wire *a, *b;
        int p1[2], p2[2], got[WIRE_FDS_MAX];
        json_object *m1 = parse("{\"n\":1}"), *m2 = parse("{\"n\":2}"), *m3 = parse("{\"n\":3}");

        cr_assert_eq(pipe2(p1, O_CLOEXEC), 0);
        cr_assert_eq(pipe2(p2, O_CLOEXEC), 0);
        wire_pair(&a, &b, SOCK_NONBLOCK);

        int three[] = { p2[1], p1[1], p2[0] };
        cr_assert_eq(wire_queue(a, m1, NULL, 0), 0);
        cr_assert_eq(wire_queue(a, m2, &p1[1], 1), 0);
        cr_assert_eq(wire_queue(a, m3, three, 3), 0);
        cr_assert_eq(wire_queue(a, m1, NULL, 0), 0);
        cr_assert_eq(wire_flush(a), 1);

        /* The sender's copies are its own: closing ours before reading
         * changes nothing for the peer. */
        cr_assert_eq(wire_read(b), 1);
        expect_message(b, "{\"n\":1}", 0, got);
        cr_assert_eq(wire_read(b), 1);
        expect_message(b, "{\"n\":2}", 1, got);
        cr_expect(same_file(got[0], p1[1]));
        cr_expect_eq(fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC, "received with MSG_CMSG_CLOEXEC");
        /* Writing through the received fd reaches our pipe. */
        cr_assert_eq(write(got[0], "x", 1), 1);
        char c = 0;
        cr_assert_eq(read(p1[0], &c, 1), 1);
        cr_expect_eq(c, 'x');
        close(got[0]);

        cr_assert_eq(wire_read(b), 1);
        expect_message(b, "{\"n\":3}", 3, got);
        for (size_t i = 0; i < 3; i++) {
                cr_expect(same_file(got[i], three[i]), "fd %zu in order", i);
                close(got[i]);
        }
        cr_assert_eq(wire_read(b), 1);
        expect_message(b, "{\"n\":1}", 0, got);

        json_object_put(m1);
        json_object_put(m2);
        json_object_put(m3);
        wire_free(a);
        wire_free(b);
}

Test(wire, fds_belong_to_the_message_being_read) {
        Wire *w;
        int raw, fd = open("/dev/null", O_RDONLY | O_CLOEXEC), got[WIRE_FDS_MAX];

        wire_raw(&w, &raw);
        /* The first message ends in the same sendmsg that carries the fd,
         * which the second then brings: it is the second's. Then a message
         * whose fd comes with its last bytes. */
        send_raw(raw, "{\"a\":1}", 8, NULL, 0);
        send_raw(raw, "{\"b\":2}", 8, &fd, 1);
        send_raw(raw, "{\"c\":", 5, NULL, 0);
        send_raw(raw, "3}", 3, &fd, 1);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"a\":1}", 0, got);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"b\":2}", 1, got);
        cr_expect(same_file(got[0], fd));
        close(got[0]);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{\"c\":3}", 1, got);
        cr_expect(same_file(got[0], fd));
        close(got[0]);
        close(fd);
        close(raw);
        wire_free(w);
}

Test(wire, untaken_fds_are_closed) {
        int before = count_fds();
        Wire *w;
        int raw, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int fds[] = { fd, fd, fd };

        wire_raw(&w, &raw);
        send_raw(raw, "{}", 3, fds, 3);
        send_raw(raw, "{}", 3, fds, 2);
        send_raw(raw, "[]", 3, fds, 3);
        send_raw(raw, "{}", 3, fds, 1);
        close(fd);
        /* Taken without room for them, refused as a message, or never taken:
         * each way the fds are closed. */
        cr_assert_eq(wire_read(w), 1);
        json_object *m = NULL;
        cr_assert_eq(wire_take(w, &m, NULL, NULL), 1);
        json_object_put(m);
        cr_assert_eq(wire_read(w), 1);
        cr_assert_eq(wire_take(w, &m, NULL, NULL), 1);
        json_object_put(m);
        cr_assert_eq(wire_read(w), 1);
        cr_assert_eq(wire_take(w, &m, NULL, NULL), -EBADMSG);
        cr_assert_eq(wire_read(w), 1);
        wire_free(w);
        close(raw);
        cr_expect_eq(count_fds(), before);
}

Test(wire, too_many_fds_are_refused_and_closed) {
        int before = count_fds();
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), fds[32];
        Wire *w;
        int raw;

        for (size_t i = 0; i < 32; i++)
                fds[i] = fd;

        /* More in one sendmsg than our buffer holds: MSG_CTRUNC. */
        wire_raw(&w, &raw);
        send_raw(raw, "{}", 3, fds, 20);
        cr_expect_eq(wire_read(w), -ETOOMANYREFS);
        wire_free(w);
        close(raw);

        /* WIRE_FDS_MAX + 1 in one: exactly too many. */
        wire_raw(&w, &raw);
        send_raw(raw, "{}", 3, fds, WIRE_FDS_MAX + 1);
        cr_expect_eq(wire_read(w), -ETOOMANYREFS);
        wire_free(w);
        close(raw);

        /* Within bounds one by one, too many pending together. */
        wire_raw(&w, &raw);
        send_raw(raw, "{\"a\":", 5, fds, 5);
        cr_assert_eq(wire_read(w), 0);
        send_raw(raw, "1}", 3, fds, 4);
        cr_expect_eq(wire_read(w), -ETOOMANYREFS);
        wire_free(w);
        close(raw);

        /* WIRE_FDS_MAX is allowed. */
        wire_raw(&w, &raw);
        send_raw(raw, "{}", 3, fds, WIRE_FDS_MAX);
        cr_expect_eq(wire_read(w), 1);
        wire_free(w);
        close(raw);

        close(fd);
        cr_expect_eq(count_fds(), before);
}

/* Sends size bytes of a message (a JSON object padded to size, then the
 * NUL if nul) through a non-blocking raw socket, reading as it goes. The
 * last wire_read() result. */
static int push_message(Wire *w, int raw, size_t size, bool nul) {
        char *buf = malloc(size + 1);
        size_t sent = 0;
        int r = 0;

        cr_assert_not_null(buf);
        cr_assert_geq(size, 10);
        memset(buf, 'x', size);
        memcpy(buf, "{\"x\":\"", 6);
        memcpy(buf + size - 2, "\"}", 2);
        buf[size] = 0;
        size += nul;
        while (sent < size) {
                ssize_t n = send(raw, buf + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        cr_assert_eq(errno, EAGAIN, "send: %m");
                        n = 0;
                }
                sent += n;
                r = wire_read(w);
                if (r != 0)
                        break;
        }
        free(buf);
        return r;
}

Test(wire, oversize_message_is_refused) {
        Wire *w;
        int raw;

        /* The largest: WIRE_MESSAGE_MAX with its NUL. */
        wire_raw(&w, &raw);
        cr_assert_eq(push_message(w, raw, WIRE_MESSAGE_MAX - 1, true), 1);
        json_object *m = NULL;
        cr_assert_eq(wire_take(w, &m, NULL, NULL), 1);
        cr_expect_eq(json_object_get_string_len(json_object_object_get(m, "x")), WIRE_MESSAGE_MAX - 1 - 8);
        json_object_put(m);
        /* Its buffer is given back, and the next message still arrives. */
        send_raw(raw, "{}", 3, NULL, 0);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{}", 0, NULL);
        wire_free(w);
        close(raw);

        /* One byte more. */
        wire_raw(&w, &raw);
        cr_expect_eq(push_message(w, raw, WIRE_MESSAGE_MAX, true), -EMSGSIZE);
        wire_free(w);
        close(raw);

        /* The same from memory. */
        w = memory_wire();
        char *big = calloc(1, WIRE_MESSAGE_MAX + 1);
        memset(big, ' ', WIRE_MESSAGE_MAX + 1);
        size_t fed = 0;
        ssize_t n;
        while ((n = wire_feed(w, big + fed, WIRE_MESSAGE_MAX + 1 - fed)) > 0)
                fed += n;
        cr_expect_eq(n, -EMSGSIZE);
        cr_expect_lt(fed, WIRE_MESSAGE_MAX);
        free(big);
        wire_free(w);
}

Test(wire, queue_refuses_what_the_peer_would) {
        Wire *a, *b;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), fds[WIRE_FDS_MAX + 1];
        json_object *o;

        wire_pair(&a, &b, SOCK_NONBLOCK);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = fd;

        o = parse("{}");
        cr_expect_eq(wire_queue(a, o, fds, WIRE_FDS_MAX + 1), -EINVAL);
        cr_expect_eq(wire_queue(a, o, fds, WIRE_FDS_MAX), 0);
        json_object_put(o);

        o = parse("[1]");
        cr_expect_eq(wire_queue(a, o, NULL, 0), -EINVAL);
        json_object_put(o);

        o = json_object_new_object();
        json_object_object_add(o, "s", json_object_new_string("\xc0\x80"));
        cr_expect_eq(wire_queue(a, o, NULL, 0), -EINVAL, "not UTF-8");
        json_object_put(o);

        o = json_object_new_object();
        json_object_object_add(o, "d", json_object_new_double(NAN));
        cr_expect_eq(wire_queue(a, o, NULL, 0), -EINVAL, "NaN is no JSON");
        json_object_put(o);

        /* The largest message that fits, and one byte more. */
        char *s = malloc(WIRE_MESSAGE_MAX);
        memset(s, 'y', WIRE_MESSAGE_MAX);
        o = json_object_new_object();
        json_object_object_add(o, "x", json_object_new_string_len(s, WIRE_MESSAGE_MAX - 1 - 8));
        cr_expect_eq(wire_queue(a, o, NULL, 0), 0);
        json_object_put(o);
        o = json_object_new_object();
        json_object_object_add(o, "x", json_object_new_string_len(s, WIRE_MESSAGE_MAX - 8));
        cr_expect_eq(wire_queue(a, o, NULL, 0), -EMSGSIZE);
        json_object_put(o);
        free(s);

        close(fd);
        wire_free(a);
        wire_free(b);
}

static int feed_and_take(const char *bytes, size_t n) {
        Wire *w;
        json_object *m = NULL;
        int r;

        w = memory_wire();
        cr_assert_eq(wire_feed(w, bytes, n), (ssize_t) n);
        r = wire_take(w, &m, NULL, NULL);
        if (r > 0) {
                cr_assert(json_object_is_type(m, json_type_object));
                json_object_put(m);
        }
        /* A refused message is consumed: the next one is read as usual. */
        cr_assert_eq(wire_feed(w, "{}", 3), 3);
        cr_assert_eq(wire_take(w, &m, NULL, NULL), 1);
        json_object_put(m);
        wire_free(w);
        return r;
}
#define FEED(s) feed_and_take(s, sizeof(s))

Test(wire, malformed_messages_are_refused) {
        static const char *const bad[] = {
                "", " ", "[1]", "1", "\"s\"", "null", "true", "{", "{\"a\":1", "{} x", "{}{}", "{},",
                "{\"a\":1,}", "{'a':1}", "{\"a\":'x'}", "{a:1}", "{\"a\":NaN}", "{\"a\":Infinity}",
                "{\"a\":-Infinity}", "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":1.}", "{\"a\":.5}",
                "{\"a\":1e}", "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":1-2}", "{\"a\":truex}", "{\"a\":nul}",
                "{\"a\":TRUE}", "{\"a\":\"\x01\"}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
                "{\"a\":1}//c", "{\"a\":/*c*/1}", "\x0c{}", "{}\x0b",
                /* integers json-c would clamp */
                "{\"a\":18446744073709551616}", "{\"a\":-9223372036854775809}",
                "{\"a\":99999999999999999999999}",
                /* not UTF-8: stray, truncated, overlong, surrogate, above U+10FFFF, a BOM-less Latin-1 */
                "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\xc0\x80\"}",
                "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
                "{\"caf\xe9\":1}", "\xef\xbb\xbf{}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_expect_eq(feed_and_take(bad[i], strlen(bad[i]) + 1), -EBADMSG, "accepted: %s", bad[i]);
}

Test(wire, wellformed_edges_are_taken) {
        static const char *const good[] = {
                "{}", " {} ", "\t{\r\n}\n", "{\"a\":0}", "{\"a\":-0}", "{\"a\":1.5e-3}", "{\"a\":1E+3}",
                "{\"a\":18446744073709551615}", "{\"a\":-9223372036854775808}", "{\"a\":\"\\u00e9\\ud834\\udd1e\"}",
                "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "{\"\":[[],{},null,true,false]}", "{\"a\":\"\xf4\x8f\xbf\xbf\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                cr_expect_eq(feed_and_take(good[i], strlen(good[i]) + 1), 1, "refused: %s", good[i]);
}

Test(wire, nesting_is_bounded) {
        char buf[4 * WIRE_DEPTH_MAX + 16];

        for (int depth = WIRE_DEPTH_MAX; depth <= WIRE_DEPTH_MAX + 1; depth++) {
                size_t n = 0;
                buf[n++] = '{';
                n += sprintf(buf + n, "\"x\":");
                for (int i = 1; i < depth; i++)
                        buf[n++] = '[';
                for (int i = 1; i < depth; i++)
                        buf[n++] = ']';
                buf[n++] = '}';
                buf[n++] = 0;
                cr_expect_eq(feed_and_take(buf, n), depth <= WIRE_DEPTH_MAX ? 1 : -EBADMSG, "depth %d", depth);
        }
}

Test(wire, refused_message_closes_its_fds) {
        int before = count_fds();
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), got[WIRE_FDS_MAX];
        Wire *w;
        int raw;

        wire_raw(&w, &raw);
        send_raw(raw, "{\"a\":01}", 9, &fd, 1);
        send_raw(raw, "{}", 3, &fd, 1);
        close(fd);
        cr_assert_eq(wire_read(w), 1);
        json_object *m = NULL;
        cr_expect_eq(wire_take(w, &m, got, NULL), -EBADMSG);
        cr_assert_eq(wire_read(w), 1);
        expect_message(w, "{}", 1, got);
        close(got[0]);
        close(raw);
        cr_expect_eq(wire_read(w), -ECONNRESET);
        wire_free(w);
        cr_expect_eq(count_fds(), before);
}

Test(wire, eof_is_connreset) {
        Wire *w;
        int raw;

        wire_raw(&w, &raw);
        close(raw);
        cr_expect_eq(wire_read(w), -ECONNRESET);
        wire_free(w);

        /* Also in the middle of a message. */
        wire_raw(&w, &raw);
        send_raw(raw, "{\"a\":", 5, NULL, 0);
        cr_expect_eq(wire_read(w), 0);
        close(raw);
        cr_expect_eq(wire_read(w), -ECONNRESET);
        wire_free(w);

        /* Writing to a peer that is gone: an error, not SIGPIPE. */
        Wire *a, *b;
        json_object *o = parse("{}");
        wire_pair(&a, &b, 0);
        wire_free(b);
        cr_assert_eq(wire_queue(a, o, NULL, 0), 0);
        cr_expect_eq(wire_flush(a), -EPIPE);
        json_object_put(o);
        wire_free(a);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + ts.tv_nsec / 1000u;
}

Test(wire, call_times_out_at_its_deadline) {
        Wire *client, *daemon;
        json_object *req = parse("{\"method\":\"io.cgov.Wait\"}"), *reply = NULL;

        wire_pair(&client, &daemon, 0); /* the client's socket blocks */
        uint64_t start = now_usec();
        cr_expect_eq(wire_call(client, req, NULL, 0, start + 100000, &reply), -ETIMEDOUT);
        uint64_t took = now_usec() - start;
        cr_expect_geq(took, 100000);
        cr_expect_lt(took, 5000000);
        cr_expect_null(reply);

        /* The request did go out. */
        cr_assert_eq(wire_read(daemon), 1);
        expect_message(daemon, "{\"method\":\"io.cgov.Wait\"}", 0, NULL);

        /* A deadline already past: no wait at all. */
        cr_expect_eq(wire_call(client, req, NULL, 0, 1, &reply), -ETIMEDOUT);
        json_object_put(req);
        wire_free(client);
        wire_free(daemon);
}

Test(wire, call_returns_the_reply_and_closes_its_fds) {
        int before = count_fds();
        Wire *client, *daemon;
        json_object *req = parse("{\"method\":\"io.cgov.GetInfo\"}"), *reply = NULL;
        json_object *answer = parse("{\"parameters\":{\"version\":1}}");
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        wire_pair(&client, &daemon, 0);
        /* The reply waits in the socket before the request is sent: the
         * call finds it without another party. */
        cr_assert_eq(wire_queue(daemon, answer, &fd, 1), 0);
        cr_assert_eq(wire_flush(daemon), 1);
        close(fd);
        cr_assert_eq(wire_call(client, req, NULL, 0, 0, &reply), 0);
        cr_expect(json_object_equal(reply, answer));
        json_object_put(reply);

        cr_assert_eq(wire_read(daemon), 1);
        expect_message(daemon, "{\"method\":\"io.cgov.GetInfo\"}", 0, NULL);

        /* The daemon goes away before answering. */
        wire_free(daemon);
        cr_expect_eq(wire_call(client, req, NULL, 0, now_usec() + 5000000, &reply), -ECONNRESET);

        json_object_put(req);
        json_object_put(answer);
        wire_free(client);
        cr_expect_eq(count_fds(), before);
}

Test(wire, call_reads_the_last_word_of_a_daemon_that_hung_up) {
        Wire *client, *daemon;
        json_object *req = parse("{\"method\":\"io.cgov.GetInfo\"}"), *reply = NULL;
        json_object *refusal = parse("{\"error\":\"io.cgov.LimitExceeded\",\"parameters\":{\"limit\":\"connections\"}}");

        wire_pair(&client, &daemon, 0);
        cr_assert_eq(wire_queue(daemon, refusal, NULL, 0), 0);
        cr_assert_eq(wire_flush(daemon), 1);
        wire_free(daemon);
        cr_assert_eq(wire_call(client, req, NULL, 0, 0, &reply), 0);
        cr_expect(json_object_equal(reply, refusal));
        json_object_put(reply);
        cr_expect_eq(wire_call(client, req, NULL, 0, 0, &reply), -ECONNRESET);
        json_object_put(req);
        json_object_put(refusal);
        wire_free(client);
}

Test(wire, flush_resumes_after_a_full_socket) {
        Wire *a, *b;
        int p[2], got[WIRE_FDS_MAX];
        json_object *big = json_object_new_object(), *small = parse("{\"small\":true}");
        char *s = malloc(900 * 1024);
        int r;

        memset(s, 'z', 900 * 1024);
        json_object_object_add(big, "x", json_object_new_string_len(s, 900 * 1024));
        free(s);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);

        wire_pair(&a, &b, SOCK_NONBLOCK);
        /* More than the socket buffer: the first flush leaves the rest, and
         * the fds of each message still arrive with it. */
        cr_assert_eq(wire_queue(a, big, &p[0], 1), 0);
        cr_assert_eq(wire_queue(a, small, &p[1], 1), 0);
        cr_assert_eq(wire_queue(a, big, NULL, 0), 0);
        cr_expect_eq(wire_flush(a), 0);
        cr_expect(wire_has_output(a));

        size_t taken = 0, rounds = 0;
        while (taken < 3) {
                cr_assert_lt(++rounds, 10000);
                r = wire_flush(a);
                cr_assert_geq(r, 0);
                r = wire_read(b);
                cr_assert_geq(r, 0);
                if (r == 0)
                        continue;
                json_object *m = NULL;
                size_t n_fds = 99;
                cr_assert_eq(wire_take(b, &m, got, &n_fds), 1);
                if (taken == 0) {
                        cr_expect(json_object_equal(m, big));
                        cr_assert_eq(n_fds, 1);
                        cr_expect(same_file(got[0], p[0]));
                        close(got[0]);
                } else if (taken == 1) {
                        cr_expect(json_object_equal(m, small));
                        cr_assert_eq(n_fds, 1);
                        cr_expect(same_file(got[0], p[1]));
                        close(got[0]);
                } else {
                        cr_expect(json_object_equal(m, big));
                        cr_expect_eq(n_fds, 0);
                }
                json_object_put(m);
                taken++;
        }
        cr_expect_eq(wire_flush(a), 1);
        cr_expect_not(wire_has_output(a));

        json_object_put(big);
        json_object_put(small);
        close(p[0]);
        close(p[1]);
        wire_free(a);
        wire_free(b);
}

Test(wire, feed_reads_as_a_socket_does) {
        static const char bytes[] = "{\"a\":1}\0{\"b\":2}\0{\"c\"";
        Wire *w;
        json_object *m = NULL;

        w = memory_wire();
        cr_expect_eq(wire_feed(w, "", 0), 0);
        cr_assert_eq(wire_feed(w, bytes, sizeof bytes - 1), (ssize_t) sizeof bytes - 1);
        /* Nothing more is taken in while a message is complete. */
        cr_expect_eq(wire_feed(w, ":3}", 4), 0);
        expect_message(w, "{\"a\":1}", 0, NULL);
        expect_message(w, "{\"b\":2}", 0, NULL);
        cr_expect_eq(wire_take(w, &m, NULL, NULL), 0);
        cr_expect_eq(wire_feed(w, ":3}", 4), 4);
        expect_message(w, "{\"c\":3}", 0, NULL);
        wire_free(w);
}

Test(wire, peer_cred_is_the_kernels) {
        int sv[2];
        struct ucred uc = {};

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        cr_assert_eq(wire_peer_cred(sv[0], &uc), 0);
        cr_expect_eq(uc.pid, getpid());
        cr_expect_eq(uc.uid, getuid());
        cr_expect_eq(uc.gid, getgid());
        cr_expect_eq(wire_peer_cred(-1, &uc), -EBADF);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        cr_expect_eq(wire_peer_cred(fd, &uc), -ENOTSOCK);
        close(fd);
        close(sv[0]);
        close(sv[1]);
}

Test(wire, new_takes_the_fd_and_free_is_null_safe) {
        int before = count_fds();
        Wire *w = NULL;

        cr_expect_eq(wire_new(-1, &w), -EBADF);
        cr_expect_eq(wire_new(open("/dev/null", O_RDONLY | O_CLOEXEC), NULL), -EINVAL);
        cr_expect_eq(count_fds(), before, "the fd is taken even on failure");
        cr_expect_null(wire_free(NULL));
        cr_expect_eq(wire_fd(NULL), -EBADF);
        cr_expect_not(wire_has_output(NULL));
}

Test(wire, utf8_validation) {
        cr_expect(wire_utf8_valid("", 0));
        cr_expect(wire_utf8_valid("plain", 5));
        cr_expect(wire_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e", 9));
        cr_expect(wire_utf8_valid("\xed\x9f\xbf", 3));     /* U+D7FF */
        cr_expect(wire_utf8_valid("\xee\x80\x80", 3));     /* U+E000 */
        cr_expect(wire_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
        cr_expect_not(wire_utf8_valid("\x80", 1));
        cr_expect_not(wire_utf8_valid("\xc3", 1));
        cr_expect_not(wire_utf8_valid("\xc3\x28", 2));
        cr_expect_not(wire_utf8_valid("\xc1\xbf", 2));
        cr_expect_not(wire_utf8_valid("\xe0\x9f\xbf", 3));
        cr_expect_not(wire_utf8_valid("\xf0\x8f\xbf\xbf", 4));
        cr_expect_not(wire_utf8_valid("\xed\xbf\xbf", 3));
        cr_expect_not(wire_utf8_valid("\xf8\x88\x80\x80\x80", 5));
        cr_expect_not(wire_utf8_valid("\xe2\x82\xac", 2), "cut at the length given");
}

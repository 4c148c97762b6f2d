/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgovd protocol's framing (docs/protocol.md): NUL-terminated JSON
 * objects over a Unix stream socket, varlink's wire format, with file
 * descriptors passed as SCM_RIGHTS. Used by the daemon (non-blocking
 * sockets, driven by sd-event) and by libcgov's client mode (blocking calls
 * with a deadline). Nothing here knows methods: see protocol.h. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define WIRE_MESSAGE_MAX (1024u * 1024u) /* bytes, including the NUL */
#define WIRE_FDS_MAX 8                   /* fds pending on one connection */
#define WIRE_DEPTH_MAX 64                /* nesting of arrays and objects, the message itself included */

typedef struct Wire Wire;

/* Takes fd (a connected SOCK_STREAM Unix socket) in all cases. */
int wire_new(int fd, Wire **ret);
/* Who closes what the peer sent and nobody took (its fds), and the socket
 * itself while the peer's unread data (and fds) are still queued on it:
 * closing those may block (a FUSE file flushes on close; a TCP socket with
 * SO_LINGER waits for its peer). By default close(2), here and now; a
 * daemon hands them to something that cannot block it. */
void wire_set_closer(Wire *w, void (*close_fds)(const int *fds, size_t n, void *userdata), void *userdata);
/* Closes the socket and every fd received and not taken. NULL-safe. */
Wire *wire_free(Wire *w);
int wire_fd(const Wire *w);

/* Reads what the socket has now (a non-blocking socket's EAGAIN is no
 * error; a blocking one is read with MSG_DONTWAIT too) into the input
 * buffer; nothing while a complete message is still buffered, so that one
 * connection never holds more than WIRE_MESSAGE_MAX of input. Returns 1
 * when a complete message is buffered (wire_take it), 0 when more bytes are
 * needed, or:
 *   -ECONNRESET  the peer closed (EOF) or reset;
 *   -EMSGSIZE    a message grew past WIRE_MESSAGE_MAX without a NUL;
 *   -ETOOMANYREFS more than WIRE_FDS_MAX fds pending, or truncated
 *                ancillary data (MSG_CTRUNC): the fds are closed;
 *   another negative errno of recvmsg().
 * After an error the connection is unusable: the caller frees it. */
int wire_read(Wire *w);

/* For tests and fuzzers: what wire_read() does with bytes that arrived
 * without fds, from memory instead of the socket. Takes as much of data as
 * one read would (nothing while a complete message is buffered) and returns
 * how many bytes it took, or -EMSGSIZE as wire_read(). */
ssize_t wire_feed(Wire *w, const void *data, size_t size);

/* Takes the next buffered message: 1 with *ret a JSON object (the caller
 * json_object_put()s it) and the fds that arrived with it moved into fds[]
 * (at most WIRE_FDS_MAX; the caller owns them, *n_fds says how many); 0 when
 * no complete message is buffered; -EBADMSG when the message is not one JSON
 * object (nothing is returned, its fds are closed, the connection should
 * be closed after an error reply; -ENOMEM likewise when json-c cannot
 * start). One JSON object means RFC 8259 strictly (json-c alone lets single
 * quotes, NaN, leading zeros and raw control characters through), valid
 * UTF-8 (no overlong forms or surrogates), integers within [INT64_MIN,
 * UINT64_MAX] (json-c would clamp them) and at most WIRE_DEPTH_MAX deep.
 * fds and n_fds may be NULL: the fds are closed. */
int wire_take(Wire *w, json_object **ret, int fds[WIRE_FDS_MAX], size_t *n_fds);

/* Serialises obj (not consumed) plus a NUL into the output buffer; the fds
 * (borrowed, may be closed by the caller once this returns: they are
 * dup'ed) go with its first byte. -EMSGSIZE if it would exceed
 * WIRE_MESSAGE_MAX, -EINVAL for more than WIRE_FDS_MAX fds, for obj not an
 * object, or for a message wire_take() would refuse (a string that is not
 * valid UTF-8, a NaN): better an error here than a peer hanging up. */
int wire_queue(Wire *w, json_object *obj, const int *fds, size_t n_fds);
/* Writes buffered output: 1 when all is written, 0 when the socket is full
 * (EAGAIN: wait for EPOLLOUT), a negative errno (-EPIPE, -ECONNRESET). */
int wire_flush(Wire *w);
bool wire_has_output(const Wire *w);

/* The client's blocking exchange on a blocking socket: queues and flushes
 * the request, then reads until one reply is complete and takes it.
 * deadline_usec is CLOCK_MONOTONIC (0: none); -ETIMEDOUT when it passes.
 * Reply fds, if any, are closed. Returns 0 with *reply, or a negative errno
 * (-ECONNRESET when the daemon went away, -EBADMSG for a malformed reply);
 * a daemon that answered and hung up before the request went out (a refused
 * connection) has its answer returned. After an error the request may be
 * half sent or its reply still to come: the caller closes the connection. */
int wire_call(Wire *w, json_object *request, const int *fds, size_t n_fds, uint64_t deadline_usec,
              json_object **reply);

/* SO_PEERCRED of the socket: the kernel's word for who the peer is. */
int wire_peer_cred(int fd, struct ucred *ret);

/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool wire_utf8_valid(const char *s, size_t n);

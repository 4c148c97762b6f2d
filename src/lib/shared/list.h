/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Intrusive doubly linked lists, as systemd's list.h has them: an item
 * carries LIST_FIELDS(type, name) (name_next, name_prev), the owner a head
 * pointer (and a tail pointer for a FIFO). Insertion and removal are O(1);
 * a removed item's links are NULL again. */

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                                          \
        do {                                                                    \
                typeof(*(head)) **_head = &(head), *_item = (item);             \
                _item->name##_prev = NULL;                                      \
                _item->name##_next = *_head;                                    \
                if (*_head)                                                     \
                        (*_head)->name##_prev = _item;                          \
                *_head = _item;                                                 \
        } while (0)

/* With a tail: appends in O(1). */
#define LIST_APPEND_TAIL(name, head, tail, item)                                \
        do {                                                                    \
                typeof(*(head)) **_head = &(head), **_tail = &(tail), *_item = (item); \
                _item->name##_next = NULL;                                      \
                _item->name##_prev = *_tail;                                    \
                if (*_tail)                                                     \
                        (*_tail)->name##_next = _item;                          \
                else                                                            \
                        *_head = _item;                                         \
                *_tail = _item;                                                 \
        } while (0)

/* tail may be a list's without one: pass a dummy. */
#define LIST_REMOVE_TAIL(name, head, tail, item)                                \
        do {                                                                    \
                typeof(*(head)) **_head = &(head), **_tail = &(tail), *_item = (item); \
                if (_item->name##_next)                                         \
                        _item->name##_next->name##_prev = _item->name##_prev;   \
                else if (*_tail == _item)                                       \
                        *_tail = _item->name##_prev;                            \
                if (_item->name##_prev)                                         \
                        _item->name##_prev->name##_next = _item->name##_next;   \
                else if (*_head == _item)                                       \
                        *_head = _item->name##_next;                            \
                _item->name##_next = _item->name##_prev = NULL;                 \
        } while (0)

#define LIST_REMOVE(name, head, item)                                           \
        do {                                                                    \
                typeof(*(head)) *_no_tail = NULL;                               \
                LIST_REMOVE_TAIL(name, head, _no_tail, item);                   \
        } while (0)

#define LIST_FOREACH(name, i, head) for (typeof(head) i = (head); i; i = i->name##_next)

/* i may be removed (or freed) in the body. */
#define LIST_FOREACH_SAFE(name, i, n, head)                                     \
        for (typeof(head) i = (head), n = i ? i->name##_next : NULL; i;         \
             i = n, n = i ? i->name##_next : NULL)

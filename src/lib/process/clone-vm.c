/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clone-vm.h"

#if HAVE_CLONE3_VM

long clone3_vm_raw(struct clone_args *args, size_t size, int (*fn)(void *), void *arg) __attribute__((visibility("hidden")));

/* rdi = args, rsi = size, rdx = fn, rcx = arg. The kernel keeps every
 * register but rax, rcx and r11 across the call, so fn and arg reach the
 * child in rdx and r8; the child starts on args->stack + stack_size, which
 * the caller aligns to 16 bytes as the ABI wants at a call. */
__asm__(
        ".text\n"
        ".globl clone3_vm_raw\n"
        ".hidden clone3_vm_raw\n"
        ".type clone3_vm_raw, @function\n"
        "clone3_vm_raw:\n"
        "        .cfi_startproc\n"
        "        mov %rcx, %r8\n"
        "        mov $" "435" ", %eax\n"          /* __NR_clone3 */
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"                              /* the caller, or an error */
        "1:\n"
        "        .cfi_undefined rip\n"               /* the child's outermost frame */
        "        xor %ebp, %ebp\n"
        "        mov %r8, %rdi\n"
        "        call *%rdx\n"
        "        mov %eax, %edi\n"
        "        mov $" "60" ", %eax\n"           /* __NR_exit, should fn return */
        "        syscall\n"
        "        hlt\n"
        "        .cfi_endproc\n"
        ".size clone3_vm_raw, .-clone3_vm_raw\n");

/* rdi = addr, rsi = len, edx = code: munmap() keeps every register but
 * rax, rcx and r11, so the code survives in rdx. */
__asm__(
        ".text\n"
        ".globl clone_vm_unmap_exit\n"
        ".hidden clone_vm_unmap_exit\n"
        ".type clone_vm_unmap_exit, @function\n"
        "clone_vm_unmap_exit:\n"
        "        mov $" "11" ", %eax\n"           /* __NR_munmap */
        "        syscall\n"
        "        mov %edx, %edi\n"
        "        mov $" "60" ", %eax\n"           /* __NR_exit */
        "        syscall\n"
        "        hlt\n"
        ".size clone_vm_unmap_exit, .-clone_vm_unmap_exit\n");

_Static_assert(SYS_clone3 == 435 && SYS_exit == 60 && SYS_munmap == 11, "x86-64 system call numbers");

long clone3_vm(struct clone_args *args, int (*fn)(void *arg), void *arg) {
        return clone3_vm_raw(args, sizeof *args, fn, arg);
}

#else

long clone3_vm(struct clone_args *args, int (*fn)(void *arg), void *arg) {
        return -ENOSYS;
}

void clone_vm_unmap_exit(void *addr, size_t len, int code) {
        for (;;)
                syscall(SYS_exit, code); /* never called: no clone3_vm() here */
}

#endif

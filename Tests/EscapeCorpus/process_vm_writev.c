/* Write into the supervisor's memory with process_vm_writev (and read it). */
#include "escape.h"
#include <sys/uio.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    long parent = raw0(SYS_getppid);
    char buffer[16] = "pwned";
    struct iovec local = {buffer, sizeof buffer}, remote = {(void *)0x400000, sizeof buffer};
    expect_failure("process_vm_writev(supervisor)", raw6(SYS_process_vm_writev, parent, (long)&local, 1, (long)&remote, 1, 0));
    expect_failure("process_vm_readv(supervisor)", raw6(SYS_process_vm_readv, parent, (long)&local, 1, (long)&remote, 1, 0));
    return verdict();
}

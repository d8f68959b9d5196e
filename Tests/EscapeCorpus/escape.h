/* Shared by the escape corpus: raw system calls (the `syscall` instruction, never
 * a libc wrapper, so nothing in libc can soften an attempt) and the verdict lines
 * the test reads. Every program is run as
 *     NAME HOSTFILE SECRET TCP_PORT UNIX_SOCKET ALLOWED_DIR
 * and exits 0 after printing "BLOCKED …" when every attempt failed, or 1 after
 * "ESCAPED …" when one succeeded. The test also checks the host itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long raw6(long n, long a, long b, long c, long d, long e, long f) {
    long result;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
}
#define raw0(n) raw6((n), 0, 0, 0, 0, 0, 0)
#define raw1(n, a) raw6((n), (long)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) raw6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define raw5(n, a, b, c, d, e) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static const char *host_file, *secret_file, *unix_socket, *allowed_dir;
static int tcp_port;
static int escapes;

static void setup(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOSTFILE SECRET TCP_PORT UNIX_SOCKET ALLOWED_DIR\n", argv[0]);
        exit(2);
    }
    host_file = argv[1];
    secret_file = argv[2];
    tcp_port = atoi(argv[3]);
    unix_socket = argv[4];
    allowed_dir = argv[5];
    setvbuf(stdout, NULL, _IONBF, 0);
}

/* Records one attempt: a raw result < 0 (−errno) means the sandbox stopped it. */
__attribute__((unused)) static long expect_failure(const char *what, long result) {
    if (result < 0 && result > -4096) {
        printf("BLOCKED %s: %s\n", what, strerror((int)-result));
    } else {
        printf("ESCAPED %s: returned %ld\n", what, result);
        escapes++;
    }
    return result;
}

__attribute__((unused)) static int verdict(void) { return escapes ? 1 : 0; }

/* Learn which files exist where the policy shows nothing: compare the errors for
 * the secret (which exists) and a sibling that does not. Different errors leak
 * the secret's existence. */
#include "escape.h"
#include <sys/stat.h>
int main(int argc, char **argv) {
    setup(argc, argv);
    char missing[4096];
    snprintf(missing, sizeof missing, "%s.does-not-exist", secret_file);
    struct stat st;
    long present = raw4(SYS_newfstatat, AT_FDCWD, secret_file, &st, 0);
    long absent = raw4(SYS_newfstatat, AT_FDCWD, missing, &st, 0);
    long present_open = raw4(SYS_openat, AT_FDCWD, secret_file, O_RDONLY, 0);
    long absent_open = raw4(SYS_openat, AT_FDCWD, missing, O_RDONLY, 0);
    expect_failure("stat(secret)", present);
    expect_failure("open(secret)", present_open);
    if (present != absent || present_open != absent_open) {
        printf("ESCAPED existing and missing hidden files give different errors (%ld/%ld, %ld/%ld)\n",
               present, absent, present_open, absent_open);
        escapes++;
    } else {
        printf("BLOCKED existing and missing hidden files look the same (%s)\n", strerror((int)-present));
    }
    return verdict();
}

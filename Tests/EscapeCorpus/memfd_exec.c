/* Try to create an anonymous file to exec (fileless exec). */
#include "escape.h"
int main(int argc, char **argv) {
    setup(argc, argv);
    
    expect_failure("memfd_create", raw2(SYS_memfd_create, "x", 0));
    return verdict();
}

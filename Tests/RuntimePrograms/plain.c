/* Built static: no libc wrappers to interpose, so even with --runtime every call
 * goes through the guard path. */
#include <string.h>
#include <unistd.h>
int main(void) {
    for (int i = 0; i < 10; i++) getppid();
    const char *text = "plain guest ran\n";
    write(1, text, strlen(text));
    return 0;
}

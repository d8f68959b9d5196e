/* Directory streams, checked against themselves: run natively and in the
 * sandbox, it must print the same. Makes DIR/d with 3,000 entries (more than one
 * getdents64 batch), then: every name comes once and the count is right;
 * telldir/seekdir return to the same place; rewinddir starts again; readdir_r
 * agrees with readdir; fdopendir takes a directory fd and refuses a file
 * (ENOTDIR); dirfd is the stream's fd; a missing directory is ENOENT.
 * Prints "dir streams ok" or what was wrong. */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  /* readdir_r: old programs still call it */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ENTRIES = 3000 };

#define CHECK(condition, ...) do { if (!(condition)) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } } while (0)

int main(int argc, char **argv) {
    const char *base = argc > 1 ? argv[1] : "/tmp";
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/dir-streams", base);
    CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
    for (int i = 0; i < ENTRIES; i++) {
        snprintf(path, sizeof path, "%s/entry-with-a-longish-name-%05d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
        close(fd);
    }

    DIR *stream = opendir(dir);
    CHECK(stream, "opendir: %s", strerror(errno));
    char *seen = calloc(ENTRIES, 1);
    int count = 0, dots = 0;
    long middle = -1;
    char after_middle[300] = "";
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(stream))) {
        count++;
        if (count == ENTRIES / 2) middle = telldir(stream);
        else if (count == ENTRIES / 2 + 1) snprintf(after_middle, sizeof after_middle, "%s", entry->d_name);
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) { dots++; continue; }
        int n;
        CHECK(sscanf(entry->d_name, "entry-with-a-longish-name-%05d", &n) == 1 && n >= 0 && n < ENTRIES, "odd name %s", entry->d_name);
        CHECK(!seen[n], "%s seen twice", entry->d_name);
        CHECK(entry->d_type == DT_REG, "%s: d_type %d", entry->d_name, entry->d_type);
        seen[n] = 1;
    }
    CHECK(errno == 0, "readdir ended with %s", strerror(errno));
    CHECK(count == ENTRIES + 2 && dots == 2, "%d entries, %d dots", count, dots);

    seekdir(stream, middle);
    entry = readdir(stream);
    CHECK(entry && !strcmp(entry->d_name, after_middle), "seekdir: %s, not %s", entry ? entry->d_name : "(end)", after_middle);

    rewinddir(stream);
    int again = 0;
    struct dirent copy, *result;
    while (readdir_r(stream, &copy, &result) == 0 && result) again++;
    CHECK(again == count, "after rewinddir and readdir_r: %d entries, not %d", again, count);

    int fd = dirfd(stream);
    struct stat info;
    CHECK(fd >= 0 && fstat(fd, &info) == 0 && S_ISDIR(info.st_mode), "dirfd: %d", fd);
    CHECK(closedir(stream) == 0, "closedir: %s", strerror(errno));

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open dir: %s", strerror(errno));
    stream = fdopendir(dfd);
    CHECK(stream && dirfd(stream) == dfd, "fdopendir: %s", strerror(errno));
    int first = 0;
    while (readdir(stream)) first++;
    CHECK(first == count, "fdopendir stream: %d entries", first);
    closedir(stream);

    snprintf(path, sizeof path, "%s/entry-with-a-longish-name-00000", dir);
    int file = open(path, O_RDONLY);
    errno = 0;
    CHECK(file >= 0 && !fdopendir(file) && errno == ENOTDIR, "fdopendir of a file: %s", strerror(errno));
    close(file);
    snprintf(path, sizeof path, "%s/missing", dir);
    errno = 0;
    CHECK(!opendir(path) && errno == ENOENT, "opendir of a missing directory: %s", strerror(errno));

    /* A host directory (the guest's /usr/bin) reads through the same functions. */
    stream = opendir("/usr/bin");
    CHECK(stream, "opendir /usr/bin: %s", strerror(errno));
    int sh = 0;
    while ((entry = readdir(stream))) if (!strcmp(entry->d_name, "sh")) sh = 1;
    closedir(stream);
    CHECK(sh, "no sh in /usr/bin");
    free(seen);
    printf("dir streams ok: %d entries\n", count);
    return 0;
}

/*
 * The compiled reference writer for the contention benchmark, in place of a Go one (there is no Go toolchain
 * here): what a Go store's blocking writer does, in the same steps as flock_writer.py, with no interpreter.
 *
 *     flock_writer --dir <layout> --prefix <p> --count <n> [--fsync-dir]
 *
 * For i in 0..n-1: take a blocking exclusive flock on <dir>/index.json.lock (created 0644 if missing, never
 * unlinked), read index.json (missing: an empty index), append an entry tagged <p>-<i>, write the result to a
 * temp file in the same directory, fsync it, rename it over index.json (with --fsync-dir, fsync the directory
 * too, as ocidx does), and unlock. Prints one JSON line: {"ok": n, "failed": m}.
 *
 * It appends textually, before the last ']' of the file (the manifests array, the last member of an index
 * this writer or ocidx's put-worker writes): it does not parse the JSON, so it is a floor for the work a real
 * writer does, not a rival implementation. The digest is a fixed-width hex string made from the tag (the
 * benchmark measures locking and writing, not hashing).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *empty_index =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}";

static int write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    length -= (size_t)n;
  }
  return 0;
}

/* The whole of index.json in a malloc'd buffer, or the empty index when it does not exist. */
static char *read_index(const char *path, size_t *length) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return NULL;
    *length = strlen(empty_index);
    return strdup(empty_index);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  size_t capacity = (size_t)st.st_size + 1;
  char *data = malloc(capacity);
  size_t got = 0;
  for (;;) {
    if (got == capacity) {
      capacity *= 2;
      data = realloc(data, capacity);
    }
    ssize_t n = read(fd, data + got, capacity - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      free(data);
      close(fd);
      return NULL;
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  *length = got;
  return data;
}

static int put(const char *dir, const char *tag, int fsync_dir) {
  char lock_path[4096], index_path[4096], temp_path[4096];
  snprintf(lock_path, sizeof lock_path, "%s/index.json.lock", dir);
  snprintf(index_path, sizeof index_path, "%s/index.json", dir);
  snprintf(temp_path, sizeof temp_path, "%s/.index.json.%d.tmp", dir, (int)getpid());
  int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return -1;
  int status = -1;
  while (flock(lock, LOCK_EX) != 0) {
    if (errno != EINTR) goto out_close;
  }
  size_t length = 0;
  char *index = read_index(index_path, &length);
  if (index == NULL) goto out_unlock;
  char *end = index + length;
  while (end > index && end[-1] != ']') end--;
  if (end == index) goto out_free;
  char *close_bracket = end - 1;
  char *before = close_bracket;
  while (before > index && (before[-1] == ' ' || before[-1] == '\n' || before[-1] == '\t' || before[-1] == '\r'))
    before--;
  int first = before > index && before[-1] == '[';
  unsigned long long h = 1469598103934665603ULL;
  for (const char *c = tag; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ULL;
  char entry[1024];
  int entry_length = snprintf(entry, sizeof entry,
                              "%s{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:"
                              "%016llx%016llx%016llx%016llx\",\"size\":%zu,\"annotations\":{\"org.opencontainers."
                              "image.ref.name\":\"%s\"}}",
                              first ? "" : ",", h, h ^ 1, h ^ 2, h ^ 3, 1000 + strlen(tag) % 97, tag);
  int temp = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (temp < 0) goto out_free;
  size_t head = (size_t)(close_bracket - index);
  if (write_all(temp, index, head) != 0 || write_all(temp, entry, (size_t)entry_length) != 0 ||
      write_all(temp, close_bracket, length - head) != 0 || fsync(temp) != 0) {
    close(temp);
    unlink(temp_path);
    goto out_free;
  }
  close(temp);
  if (rename(temp_path, index_path) != 0) goto out_free;
  if (fsync_dir) {
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0 || fsync(d) != 0) {
      if (d >= 0) close(d);
      goto out_free;
    }
    close(d);
  }
  status = 0;
out_free:
  free(index);
out_unlock:
  flock(lock, LOCK_UN);
out_close:
  close(lock);
  return status;
}

int main(int argc, char **argv) {
  const char *dir = NULL, *prefix = NULL;
  int count = 50, fsync_dir = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
    else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) prefix = argv[++i];
    else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = atoi(argv[++i]);
    else if (strcmp(argv[i], "--fsync-dir") == 0) fsync_dir = 1;
    else {
      fprintf(stderr, "usage: flock_writer --dir <layout> --prefix <p> --count <n> [--fsync-dir]\n");
      return 2;
    }
  }
  if (dir == NULL || prefix == NULL) {
    fprintf(stderr, "usage: flock_writer --dir <layout> --prefix <p> --count <n> [--fsync-dir]\n");
    return 2;
  }
  int ok = 0, failed = 0;
  for (int i = 0; i < count; i++) {
    char tag[512];
    snprintf(tag, sizeof tag, "%s-%d", prefix, i);
    if (put(dir, tag, fsync_dir) == 0) ok++;
    else {
      failed++;
      fprintf(stderr, "error: put %s: %s\n", tag, strerror(errno));
    }
  }
  printf("{\"ok\": %d, \"failed\": %d}\n", ok, failed);
  return failed == 0 ? 0 : 1;
}

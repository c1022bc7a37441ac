/*
 * gluvirt_image_create: raw and qcow2 images (version 2 and 3, cluster
 * sizes, preallocation, backing files) in local files and on the real test
 * volume gv2, read back through gluvirt_image_open; refusing to replace an
 * existing file unless asked; and every error path.  create-qemu.sh checks
 * the same kinds of images with qemu-img.
 *
 * Gluster tests run inside the cluster's network namespace; without the
 * test volumes they skip, or fail when GLUVIRT_REQUIRE_GLUSTER=1 (CI).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <gluvirt/gluvirt.h>

#define VOLUME "gv2"

/* ------------------------------------------------------------ helpers */

static char *local_dir(void)
{
    char *dir = strdup("/tmp/gluvirt-create-XXXXXX");

    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

static char *join(const char *a, const char *b)
{
    char *s;

    cr_assert_neq(asprintf(&s, "%s/%s", a, b), -1);
    return s;
}

static void remove_dir(char *dir)
{
    char *cmd;

    cr_assert_neq(asprintf(&cmd, "rm -rf '%s'", dir), -1);
    cr_expect_eq(system(cmd), 0);
    free(cmd);
    free(dir);
}

/* Options from a short description; the test fails when a setter does. */
static gluvirt_create_options *options(gluvirt_format format, uint32_t cluster,
                                       const char *compat, gluvirt_preallocation prealloc)
{
    gluvirt_create_options *o = gluvirt_create_options_new();

    cr_assert_not_null(o);
    cr_assert_eq(gluvirt_create_options_set_format(o, format), 0, "%s", gluvirt_errmsg());
    if (cluster)
        cr_assert_eq(gluvirt_create_options_set_cluster_size(o, cluster), 0, "%s",
                     gluvirt_errmsg());
    if (compat)
        cr_assert_eq(gluvirt_create_options_set_compat(o, compat), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_create_options_set_preallocation(o, prealloc), 0, "%s",
                 gluvirt_errmsg());
    return o;
}

static void expect_failure(int rc, int err, const char *needle)
{
    cr_assert_eq(rc, -1, "the call succeeded; expected errno %d", err);
    cr_expect_eq(gluvirt_errno(), err, "errno %d, expected %d: %s", gluvirt_errno(), err,
                 gluvirt_errmsg());
    if (needle)
        cr_expect(strstr(gluvirt_errmsg(), needle) != NULL, "'%s' not in the message: %s",
                  needle, gluvirt_errmsg());
}

/* Open target as format and check what the image says about itself. */
static void check_image(gluvirt_pool *pool, const char *target, gluvirt_format format,
                        int64_t size, int64_t cluster, int version, const char *backing)
{
    gluvirt_open_options *o = gluvirt_open_options_new();
    gluvirt_image *image;
    unsigned char buf[4096], zeros[4096] = {0};
    ssize_t got;

    cr_assert_eq(gluvirt_open_options_set_format(o, format), 0);
    image = gluvirt_image_open(pool, target, o);
    gluvirt_open_options_free(o);
    cr_assert_not_null(image, "open %s: %s", target, gluvirt_errmsg());
    cr_expect_eq(gluvirt_image_size(image), size, "%s: size %lld, expected %lld", target,
                 (long long)gluvirt_image_size(image), (long long)size);
    if (format == GLUVIRT_FORMAT_QCOW2) {
        const char *name = gluvirt_image_info_string(image, GLUVIRT_INFO_BACKING_NAME);

        cr_expect_eq(gluvirt_image_info_int(image, GLUVIRT_INFO_CLUSTER_SIZE), cluster);
        cr_expect_eq(gluvirt_image_info_int(image, GLUVIRT_INFO_QCOW2_VERSION), version);
        cr_expect_eq(gluvirt_image_info_int(image, GLUVIRT_INFO_REFCOUNT_BITS), 16);
        cr_expect_eq(gluvirt_image_info_int(image, GLUVIRT_INFO_DIRTY), 0);
        if (backing)
            cr_expect(name && !strcmp(name, backing), "backing name '%s', expected '%s'",
                      name ? name : "(none)", backing);
        else
            cr_expect_null(name, "unexpected backing file '%s'", name);
    }
    if (size >= (int64_t)sizeof buf && !backing) {
        got = gluvirt_image_pread(image, buf, sizeof buf, (uint64_t)size - sizeof buf);
        cr_expect_eq(got, (ssize_t)sizeof buf, "read: %s", gluvirt_errmsg());
        cr_expect_eq(memcmp(buf, zeros, sizeof buf), 0, "a new image must read as zeros");
    }
    cr_expect_eq(gluvirt_image_close(image), 0);
}

static int64_t allocated(gluvirt_pool *pool, const char *target)
{
    gluvirt_image *image = gluvirt_image_open(pool, target, NULL);
    int64_t n;

    cr_assert_not_null(image, "open %s: %s", target, gluvirt_errmsg());
    n = gluvirt_image_info_int(image, GLUVIRT_INFO_ALLOCATED_SIZE);
    gluvirt_image_close(image);
    return n;
}

/* ------------------------------------------------------------ local files */

Test(create_local, raw_sizes_round_up_to_512)
{
    char *dir = local_dir(), *a = join(dir, "a.raw"), *b = join(dir, "b.raw");
    struct stat st;

    cr_assert_eq(gluvirt_image_create(NULL, a, 1000, NULL), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(stat(a, &st), 0);
    cr_expect_eq(st.st_size, 1024);
    cr_expect_eq(st.st_blocks, 0, "a raw image without preallocation is sparse");
    cr_assert_eq(gluvirt_image_create(NULL, b, 0, NULL), 0, "%s", gluvirt_errmsg());
    check_image(NULL, a, GLUVIRT_FORMAT_RAW, 1024, 0, 0, NULL);
    free(a);
    free(b);
    remove_dir(dir);
}

Test(create_local, qcow2_matrix)
{
    static const uint32_t clusters[] = {512, 4096, 65536, 2u << 20};
    static const char *const compats[] = {"0.10", "1.1", "v2", "v3"};
    char *dir = local_dir();

    for (size_t c = 0; c < sizeof clusters / sizeof clusters[0]; c++) {
        for (size_t v = 0; v < sizeof compats / sizeof compats[0]; v++) {
            for (int p = GLUVIRT_PREALLOC_OFF; p <= GLUVIRT_PREALLOC_FULL; p++) {
                char name[64], *path;
                uint64_t size = (3u << 20) + 512 * (unsigned)p;
                gluvirt_create_options *o =
                    options(GLUVIRT_FORMAT_QCOW2, clusters[c], compats[v],
                            (gluvirt_preallocation)p);

                snprintf(name, sizeof name, "c%zu-v%zu-p%d.qcow2", c, v, p);
                path = join(dir, name);
                cr_assert_eq(gluvirt_image_create(NULL, path, size, o), 0, "%s: %s", name,
                             gluvirt_errmsg());
                check_image(NULL, path, GLUVIRT_FORMAT_QCOW2, (int64_t)size, clusters[c],
                            compats[v][0] == '0' || compats[v][1] == '2' ? 2 : 3, NULL);
                if (p == GLUVIRT_PREALLOC_FULL || p == GLUVIRT_PREALLOC_FALLOC)
                    cr_expect_geq(allocated(NULL, path), (int64_t)size, "%s", name);
                gluvirt_create_options_free(o);
                free(path);
            }
        }
    }
    remove_dir(dir);
}

Test(create_local, raw_preallocation)
{
    char *dir = local_dir(), *full = join(dir, "full.raw"), *fa = join(dir, "falloc.raw");
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_FULL);

    cr_assert_eq(gluvirt_image_create(NULL, full, 5u << 20, o), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_create_options_set_preallocation(o, GLUVIRT_PREALLOC_FALLOC), 0);
    cr_assert_eq(gluvirt_image_create(NULL, fa, 5u << 20, o), 0, "%s", gluvirt_errmsg());
    cr_expect_geq(allocated(NULL, full), 5 << 20);
    cr_expect_geq(allocated(NULL, fa), 5 << 20);
    check_image(NULL, full, GLUVIRT_FORMAT_RAW, 5 << 20, 0, 0, NULL);
    gluvirt_create_options_free(o);
    free(full);
    free(fa);
    remove_dir(dir);
}

Test(create_local, overlay_takes_backing_size_and_reads_through)
{
    char *dir = local_dir(), *base = join(dir, "base.raw"), *top = join(dir, "top.qcow2");
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_QCOW2, 0, NULL, GLUVIRT_PREALLOC_OFF);
    gluvirt_open_options *w = gluvirt_open_options_new();
    gluvirt_image *image;
    char buf[6] = {0};

    cr_assert_eq(gluvirt_image_create(NULL, base, 3u << 20, NULL), 0, "%s", gluvirt_errmsg());
    gluvirt_open_options_set_writable(w, 1);
    cr_assert_not_null(image = gluvirt_image_open(NULL, base, w), "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_image_pwrite(image, "hello", 5, 1u << 20), 5);
    gluvirt_image_close(image);
    cr_assert_eq(gluvirt_create_options_set_backing(o, "base.raw", GLUVIRT_FORMAT_RAW), 0);
    cr_assert_eq(gluvirt_image_create(NULL, top, GLUVIRT_CREATE_SIZE_OF_BACKING, o), 0, "%s",
                 gluvirt_errmsg());
    check_image(NULL, top, GLUVIRT_FORMAT_QCOW2, 3 << 20, 65536, 3, "base.raw");
    gluvirt_open_options_set_writable(w, 0);
    gluvirt_open_options_set_format(w, GLUVIRT_FORMAT_QCOW2);
    cr_assert_not_null(image = gluvirt_image_open(NULL, top, w), "%s", gluvirt_errmsg());
    cr_expect_str_eq(gluvirt_image_info_string(image, GLUVIRT_INFO_BACKING_FORMAT), "raw");
    cr_assert_eq(gluvirt_image_pread(image, buf, 5, 1u << 20), 5, "%s", gluvirt_errmsg());
    cr_expect_str_eq(buf, "hello");
    gluvirt_image_close(image);
    gluvirt_open_options_free(w);
    gluvirt_create_options_free(o);
    free(base);
    free(top);
    remove_dir(dir);
}

Test(create_local, errors_exists_unless_overwrite)
{
    char *dir = local_dir(), *path = join(dir, "x.raw");
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_QCOW2, 0, NULL, GLUVIRT_PREALLOC_OFF);
    struct stat st;
    FILE *f;

    cr_assert_not_null(f = fopen(path, "w"));
    fputs("precious", f);
    fclose(f);
    expect_failure(gluvirt_image_create(NULL, path, 1 << 20, o), EEXIST, "already exists");
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_size, 8, "the existing file must stay as it was");
    cr_assert_eq(gluvirt_create_options_set_overwrite(o, 1), 0);
    cr_assert_eq(gluvirt_image_create(NULL, path, 1 << 20, o), 0, "%s", gluvirt_errmsg());
    check_image(NULL, path, GLUVIRT_FORMAT_QCOW2, 1 << 20, 65536, 3, NULL);
    expect_failure(gluvirt_image_create(NULL, dir, 1 << 20, o), EISDIR, "directory");
    gluvirt_create_options_free(o);
    free(path);
    remove_dir(dir);
}

Test(create_local, errors_bad_combinations_leave_no_file)
{
    char *dir = local_dir(), *path = join(dir, "x.img"), *missing = join(dir, "no/x.raw");
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_METADATA);

    expect_failure(gluvirt_image_create(NULL, path, 1 << 20, o), EINVAL, "metadata");
    gluvirt_create_options_set_preallocation(o, GLUVIRT_PREALLOC_OFF);
    gluvirt_create_options_set_backing(o, "b.raw", GLUVIRT_FORMAT_RAW);
    expect_failure(gluvirt_image_create(NULL, path, 1 << 20, o), EINVAL, "raw image cannot");
    gluvirt_create_options_set_format(o, GLUVIRT_FORMAT_QCOW2);
    gluvirt_create_options_set_preallocation(o, GLUVIRT_PREALLOC_FULL);
    expect_failure(gluvirt_image_create(NULL, path, 1 << 20, o), EINVAL, "exclude");
    gluvirt_create_options_set_preallocation(o, GLUVIRT_PREALLOC_OFF);
    expect_failure(gluvirt_image_create(NULL, path, 1 << 20, o), ENOENT, "backing file 'b.raw'");
    gluvirt_create_options_set_backing(o, NULL, GLUVIRT_FORMAT_RAW);
    expect_failure(gluvirt_image_create(NULL, path, GLUVIRT_CREATE_SIZE_OF_BACKING, o), EINVAL,
                   "no size");
    gluvirt_create_options_set_cluster_size(o, 512);
    expect_failure(gluvirt_image_create(NULL, path, 1ull << 40, o), EINVAL, "cluster_size=");
    cr_expect_eq(access(path, F_OK), -1, "a refused image must leave no file");
    expect_failure(gluvirt_image_create(NULL, missing, 1 << 20, o), ENOENT, "directory");
    expect_failure(gluvirt_image_create(NULL, path, INT64_MAX, o), EINVAL, NULL);
    expect_failure(gluvirt_image_create(NULL, NULL, 1, o), EINVAL, "no target");
    expect_failure(gluvirt_image_create(NULL, "", 1, o), EINVAL, "no target");
    expect_failure(gluvirt_image_create_uri(NULL, NULL, 1, o), EINVAL, "NULL");
    expect_failure(gluvirt_image_create(NULL, "gluster://h/vol", 1, o), EINVAL, NULL);
    cr_expect_eq(access(path, F_OK), -1, "a refused image must leave no file");
    gluvirt_create_options_free(o);
    free(path);
    free(missing);
    remove_dir(dir);
}

Test(create_local, errors_option_setters)
{
    gluvirt_create_options *o = gluvirt_create_options_new();

    expect_failure(gluvirt_create_options_set_format(NULL, GLUVIRT_FORMAT_RAW), EINVAL, "NULL");
    expect_failure(gluvirt_create_options_set_format(o, GLUVIRT_FORMAT_PROBE), EINVAL, "raw");
    expect_failure(gluvirt_create_options_set_cluster_size(o, 256), EINVAL, "power of two");
    expect_failure(gluvirt_create_options_set_cluster_size(o, 1000), EINVAL, "power of two");
    expect_failure(gluvirt_create_options_set_cluster_size(o, 4u << 20), EINVAL, "2 MiB");
    expect_failure(gluvirt_create_options_set_compat(o, "1.0"), EINVAL, "0.10");
    expect_failure(gluvirt_create_options_set_compat(o, NULL), EINVAL, NULL);
    expect_failure(gluvirt_create_options_set_preallocation(o, (gluvirt_preallocation)9),
                   EINVAL, "unknown");
    expect_failure(gluvirt_create_options_set_backing(o, "b", GLUVIRT_FORMAT_PROBE), EINVAL,
                   "format");
    expect_failure(gluvirt_create_options_set_backing(o, "", GLUVIRT_FORMAT_RAW), EINVAL,
                   "empty");
    expect_failure(gluvirt_create_options_set_owner(o, -2, 0), EINVAL, "out of range");
    expect_failure(gluvirt_create_options_set_overwrite(NULL, 1), EINVAL, "NULL");
    gluvirt_create_options_free(o);
    gluvirt_create_options_free(NULL);
}

/* ------------------------------------------------------------ the test volume */

/* Without GLUVIRT_TEST_HOST in the environment, read the env file the
 * cluster script writes (lines "export NAME='value'"). */
static void load_cluster_env(void)
{
    const char *base = getenv("GLUVIRT_CLUSTER_BASE");
    char path[512], line[1024];
    FILE *file;

    if (getenv("GLUVIRT_TEST_HOST"))
        return;
    snprintf(path, sizeof path, "%s/env", base ? base : "/tmp/gluvirt-cluster");
    if (!(file = fopen(path, "r")))
        return;
    while (fgets(line, sizeof line, file)) {
        char *name = line, *value;

        if (!strncmp(name, "export ", 7))
            name += 7;
        if (!(value = strchr(name, '=')))
            continue;
        *value++ = '\0';
        value += *value == '\'';
        value[strcspn(value, "'\n")] = '\0';
        setenv(name, value, 0);
    }
    fclose(file);
}

static const char *test_host(void)
{
    const char *host;

    load_cluster_env();
    host = getenv("GLUVIRT_TEST_HOST");

    if (!host || !*host) {
        const char *why = "no gluster test volumes: start them with tests/cluster/test-volumes.sh "
                          "up and run inside their network namespace";
        const char *require = getenv("GLUVIRT_REQUIRE_GLUSTER");

        if (require && !strcmp(require, "1"))
            cr_assert_fail("%s (GLUVIRT_REQUIRE_GLUSTER=1)", why);
        cr_skip_test("%s", why);
    }
    return host;
}

/* A pool that does not linger at exit: these tests write to a
 * single-brick volume, where no replication round trip is pending. */
static gluvirt_pool *test_pool(void)
{
    gluvirt_pool_options *po = gluvirt_pool_options_new();
    gluvirt_pool *pool;

    gluvirt_pool_options_set_exit_wait(po, 0);
    pool = gluvirt_pool_new(po);
    gluvirt_pool_options_free(po);
    cr_assert_not_null(pool);
    return pool;
}

static char *uri_of(const char *host, const char *name)
{
    const char *tag = getenv("GLUVIRT_CREATE_TEST_TAG");
    char *uri;

    cr_assert_neq(asprintf(&uri, "gluster://%s/%s/gluvirt-create-%s-%s", host, VOLUME,
                           tag ? tag : "none", name), -1);
    return uri;
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    char tag[32];

    (void)set;
    snprintf(tag, sizeof tag, "%ld", (long)getpid());
    setenv("GLUVIRT_CREATE_TEST_TAG", tag, 1);
}

Test(create_gluster, raw_and_qcow2_read_back)
{
    const char *host = test_host();
    gluvirt_pool *pool = test_pool();
    struct {
        const char *name;
        gluvirt_format format;
        uint32_t cluster;
        const char *compat;
        gluvirt_preallocation prealloc;
        uint64_t size;
    } cases[] = {
        {"plain.raw", GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_OFF, 1000},
        {"full.raw", GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_FULL, 4u << 20},
        {"falloc.raw", GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_FALLOC, 4u << 20},
        {"v3.qcow2", GLUVIRT_FORMAT_QCOW2, 0, NULL, GLUVIRT_PREALLOC_OFF, 1ull << 30},
        {"v2-512.qcow2", GLUVIRT_FORMAT_QCOW2, 512, "0.10", GLUVIRT_PREALLOC_OFF, 10u << 20},
        {"meta.qcow2", GLUVIRT_FORMAT_QCOW2, 4096, NULL, GLUVIRT_PREALLOC_METADATA, 3u << 20},
        {"falloc.qcow2", GLUVIRT_FORMAT_QCOW2, 0, "0.10", GLUVIRT_PREALLOC_FALLOC, 4u << 20},
        {"full.qcow2", GLUVIRT_FORMAT_QCOW2, 2u << 20, NULL, GLUVIRT_PREALLOC_FULL, 4u << 20},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *uri = uri_of(host, cases[i].name);
        gluvirt_create_options *o = options(cases[i].format, cases[i].cluster, cases[i].compat,
                                            cases[i].prealloc);
        uint64_t size = (cases[i].size + 511) & ~511ull;

        cr_assert_eq(gluvirt_image_create(pool, uri, cases[i].size, o), 0, "%s: %s", uri,
                     gluvirt_errmsg());
        check_image(pool, uri, cases[i].format, (int64_t)size,
                    cases[i].cluster ? cases[i].cluster : 65536,
                    cases[i].compat ? 2 : 3, NULL);
        if (cases[i].prealloc == GLUVIRT_PREALLOC_FULL ||
            cases[i].prealloc == GLUVIRT_PREALLOC_FALLOC)
            cr_expect_geq(allocated(pool, uri), (int64_t)size, "%s", uri);
        gluvirt_create_options_free(o);
        free(uri);
    }
    gluvirt_pool_free(pool);
}

Test(create_gluster, overlay_on_the_volume)
{
    const char *host = test_host();
    gluvirt_pool *pool = test_pool();
    char *base = uri_of(host, "base.qcow2"), *top = uri_of(host, "top.qcow2");
    char *base_name = strrchr(base, '/') + 1;
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_QCOW2, 0, NULL, GLUVIRT_PREALLOC_OFF);

    cr_assert_eq(gluvirt_image_create(pool, base, 5u << 20, o), 0, "%s", gluvirt_errmsg());
    cr_assert_eq(gluvirt_create_options_set_backing(o, base_name, GLUVIRT_FORMAT_QCOW2), 0);
    cr_assert_eq(gluvirt_image_create(pool, top, GLUVIRT_CREATE_SIZE_OF_BACKING, o), 0, "%s",
                 gluvirt_errmsg());
    check_image(pool, top, GLUVIRT_FORMAT_QCOW2, 5 << 20, 65536, 3, base_name);
    gluvirt_create_options_set_backing(o, "/etc/hostname", GLUVIRT_FORMAT_RAW);
    gluvirt_create_options_set_overwrite(o, 1);
    expect_failure(gluvirt_image_create(pool, top, 1 << 20, o), EINVAL, "absolute path");
    gluvirt_create_options_free(o);
    free(base);
    free(top);
    gluvirt_pool_free(pool);
}

Test(create_gluster, errors_exists_unless_overwrite)
{
    const char *host = test_host();
    gluvirt_pool *pool = test_pool();
    char *uri = uri_of(host, "exists.img"), *missing;
    gluvirt_create_options *o = options(GLUVIRT_FORMAT_RAW, 0, NULL, GLUVIRT_PREALLOC_OFF);

    cr_assert_eq(gluvirt_image_create(pool, uri, 1u << 20, o), 0, "%s", gluvirt_errmsg());
    gluvirt_create_options_set_format(o, GLUVIRT_FORMAT_QCOW2);
    expect_failure(gluvirt_image_create(pool, uri, 2u << 20, o), EEXIST, "already exists");
    check_image(pool, uri, GLUVIRT_FORMAT_RAW, 1 << 20, 0, 0, NULL);
    gluvirt_create_options_set_overwrite(o, 1);
    cr_assert_eq(gluvirt_image_create(pool, uri, 2u << 20, o), 0, "%s", gluvirt_errmsg());
    check_image(pool, uri, GLUVIRT_FORMAT_QCOW2, 2 << 20, 65536, 3, NULL);
    cr_assert_neq(asprintf(&missing, "gluster://%s/%s/no-such-dir/x.raw", host, VOLUME), -1);
    expect_failure(gluvirt_image_create(pool, missing, 1, o), ENOENT, "directory");
    free(missing);
    cr_assert_neq(asprintf(&missing, "gluster://%s/gluvirt-no-such-volume/x.raw", host), -1);
    expect_failure(gluvirt_image_create(pool, missing, 1, o), ENOENT, "gluvirt-no-such-volume");
    free(missing);
    gluvirt_create_options_free(o);
    free(uri);
    gluvirt_pool_free(pool);
}

/*
 * Checking a volume for VM images, as a hypervisor sees it: its volfile
 * servers, a client connection, the bricks, the layout, the "virt" option
 * group as the client graph shows it (glfs_get_volfile), the owner of the
 * volume's root and the free space.  Every item says what it found and, when
 * it does not pass, what to run to fix it.
 *
 * The options and the report live in volume_report.c, the reading of the
 * client graph in volfile_graph.c; volume_check.h is what they share.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "gluster/pool_internal.h"
#include "uri/uri_internal.h"
#include "gluster/volfile_graph.h"
#include "volume/volume_check.h"

#define PATHINFO_XATTR "trusted.glusterfs.pathinfo"
#define HARD_MIN_FREE (256ull << 20)

/* ------------------------------------------------------------ volfile servers */

/* A copy of uri that names only its server i. */
static gluvirt_uri *only_server(const gluvirt_uri *uri, size_t i)
{
    const struct glv_uri_server *s = &uri->servers[i];
    gluvirt_uri *one = gluvirt_uri_new(uri->volume, uri->path);

    if (one && (s->transport == GLUVIRT_TRANSPORT_UNIX
                    ? gluvirt_uri_add_unix_server(one, s->socket)
                    : gluvirt_uri_add_tcp_server(one, s->host, s->port)) < 0) {
        gluvirt_uri_free(one);
        return NULL;
    }
    return one;
}

/*
 * One item per volfile server: a client that names only that server fetches
 * the volume's layout from it, as QEMU would.  A server that answers "no
 * such volume" or "not you" is reachable; the volume item says the rest.
 * One that does not answer fails, or warns when another server answers.
 * Returns how many servers answered.
 */
static size_t check_servers(struct gluvirt_volume_report *r, gluvirt_pool *pool,
                            const gluvirt_uri *uri)
{
    size_t i, answered = 0, first = r->count;

    for (i = 0; i < uri->server_count; i++) {
        const struct glv_uri_server *s = &uri->servers[i];
        gluvirt_uri *one = only_server(uri, i);
        gluvirt_connection *c = one ? gluvirt_pool_connect(pool, one) : NULL;
        int err = c ? 0 : gluvirt_errno();
        char name[300];

        if (s->transport == GLUVIRT_TRANSPORT_UNIX)
            snprintf(name, sizeof name, "%s", s->socket);
        else
            snprintf(name, sizeof name, strchr(s->host, ':') ? "[%s]:%d" : "%s:%d", s->host,
                     s->port);
        if (err == 0 || err == ENOENT || err == EACCES) {
            answered++;
            glv_report_add(r, GLUVIRT_CHECK_PASS, "server", name, NULL,
                "glusterd answers on %s", name);
        } else {
            glv_report_add(r, GLUVIRT_CHECK_FAIL, "server", name,
                s->transport == GLUVIRT_TRANSPORT_UNIX
                    ? glv_report_asprintf(r, "start glusterd on this machine (systemctl start "
                                          "glusterd), or name the socket it listens on (its "
                                          "glusterd-sockfile option)")
                    : glv_report_asprintf(r, "check the host's name or address and that %s is "
                                          "up; start glusterd there (systemctl start "
                                          "glusterd); let this machine reach port %d and the "
                                          "brick ports (49152 and up); without it, failover "
                                          "to this server does not work", s->host, s->port),
                "%s", gluvirt_errmsg());
        }
        gluvirt_connection_release(c);
        gluvirt_uri_free(one);
    }
    for (i = first; answered && i < r->count; i++)
        if (r->items[i].status == GLUVIRT_CHECK_FAIL)
            r->items[i].status = GLUVIRT_CHECK_WARN; /* the volume is reached through others */
    return answered;
}

/* ------------------------------------------------------------ connections */

static char *connect_fix(struct gluvirt_volume_report *r, int err, const char *volume)
{
    switch (err) {
    case ENOENT:
        return glv_report_asprintf(r, "check the volume's name: 'gluster volume list' on a "
                                   "server lists them; 'gluster volume start %s' starts a "
                                   "stopped one", volume);
    case EACCES:
        return glv_report_asprintf(r, "gluster volume set %s server.allow-insecure on; and on "
                                   "every server add 'option rpc-auth-allow-insecure on' to "
                                   "/etc/glusterfs/glusterd.vol and restart glusterd", volume);
    case ETIMEDOUT:
        return glv_report_asprintf(r, "let this machine reach every brick's port (49152 and up, "
                                   "'gluster volume status %s' lists them) and check that the "
                                   "bricks run", volume);
    default:
        return glv_report_asprintf(r, "start glusterd on the servers and the volume ('gluster "
                                   "volume start %s'), and let this machine reach ports 24007 "
                                   "and 49152 and up", volume);
    }
}

static gluvirt_pool *check_pool(unsigned timeout_ms, int insecure)
{
    gluvirt_pool_options *o = gluvirt_pool_options_new();
    gluvirt_pool *pool = NULL;

    if (o && gluvirt_pool_options_set_connect_timeout(o, timeout_ms) == 0 &&
        (!insecure || gluvirt_pool_options_set_xlator_option(o, "*-client-*",
                                                             "client-bind-insecure", "on") == 0))
        pool = gluvirt_pool_new(o);
    gluvirt_pool_options_free(o);
    return pool;
}

/* qemu that does not run as root talks to the bricks from ports above 1024;
 * a client forced onto such a port shows whether the bricks accept it. */
static void check_insecure_port(struct gluvirt_volume_report *r, const gluvirt_uri *uri,
                                unsigned timeout_ms)
{
    gluvirt_pool *pool;
    gluvirt_connection *c;

    if (geteuid() != 0) {
        glv_report_add(r, GLUVIRT_CHECK_PASS, "insecure-port", uri->volume, NULL,
            "this check does not run as root, so its own connection already came from a port "
            "above 1024, as qemu's does");
        return;
    }
    if (!(pool = check_pool(timeout_ms, 1))) {
        r->failed = 1;
        return;
    }
    if ((c = gluvirt_pool_connect(pool, uri))) {
        glv_report_add(r, GLUVIRT_CHECK_PASS, "insecure-port", uri->volume, NULL,
            "a client on a port above 1024 is accepted, as qemu running as its own user needs");
        gluvirt_connection_release(c);
    } else if (gluvirt_errno() == EACCES) {
        glv_report_add(r, GLUVIRT_CHECK_FAIL, "insecure-port", uri->volume,
            connect_fix(r, EACCES, uri->volume), "the bricks refuse clients on ports above "
            "1024, which is where qemu connects from when it does not run as root");
    } else {
        glv_report_add(r, GLUVIRT_CHECK_WARN, "insecure-port", uri->volume,
            glv_report_asprintf(r, "the brick logs on the servers (/var/log/glusterfs/bricks/) "
                                "say why the client was turned away"),
            "a client on a port above 1024 could not connect: %s", gluvirt_errmsg());
    }
    gluvirt_pool_free(pool);
}

/* ------------------------------------------------------------ bricks */

/*
 * Which bricks answer: the pathinfo of the root lists "<POSIX(PATH):HOST:
 * PATH/>" for each brick that answered.  down[i] is set for the clients
 * (graph lines clients[i]) whose brick path is not listed; each listed
 * brick counts once.  Returns how many answered, or -1 with errno.
 */
static ssize_t bricks_answering(glfs_t *fs, const struct glv_volfile_graph *g,
                                const long *clients, size_t n, int *down)
{
    ssize_t size = glfs_getxattr(fs, "/", PATHINFO_XATTR, NULL, 0), up = 0;
    char *info, *p;
    size_t i;

    if (size < 0 || !(info = calloc(1, (size_t)size + 1)))
        return -1;
    if (glfs_getxattr(fs, "/", PATHINFO_XATTR, info, (size_t)size) < 0) {
        free(info);
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *want = glv_volfile_xlator_option(g, clients[i], "remote-subvolume");
        size_t len = want ? strlen(want) : 0;

        down[i] = 1;
        for (p = info; want && (p = strstr(p, "<POSIX(")); p++) {
            if (!strncmp(p + 7, want, len) && !strncmp(p + 7 + len, "):", 2)) {
                *p = '#'; /* used up */
                down[i] = 0;
                up++;
                break;
            }
        }
    }
    free(info);
    return up;
}

static void check_bricks(struct gluvirt_volume_report *r, glfs_t *fs,
                         const struct glv_volfile_graph *g, const char *volume)
{
    long *clients = calloc(g->lines + 1, sizeof *clients), at;
    int *down = calloc(g->lines + 1, sizeof *down), err;
    struct glv_strbuf missing = {0};
    size_t n = 0, from = 0, i;
    ssize_t up;
    char *fix;

    if (!clients || !down) {
        r->failed = 1;
        goto out;
    }
    while ((at = glv_volfile_next_xlator(g, "protocol/client", &from)) >= 0)
        clients[n++] = at;
    up = bricks_answering(fs, g, clients, n, down);
    if (up >= 0 && (size_t)up < n) {
        sleep(1); /* a brick may still be connecting just after the client started */
        up = bricks_answering(fs, g, clients, n, down);
    }
    err = errno;
    fix = glv_report_asprintf(r, "'gluster volume status %s' shows the bricks; 'gluster volume "
                              "start %s force' starts those that are down", volume, volume);
    if (up < 0) {
        glv_report_add(r, GLUVIRT_CHECK_FAIL, "bricks", volume, fix,
            "the bricks do not answer (%s)", strerror(err));
    } else if ((size_t)up == n) {
        free(fix);
        glv_report_add(r, GLUVIRT_CHECK_PASS, "bricks", volume, NULL,
            n == 1 ? "the brick answers" : "all %zu bricks answer", n);
    } else {
        for (i = 0; i < n; i++)
            if (down[i])
                glv_strbuf_printf(&missing, "%s%s:%s", missing.len ? ", " : "",
                                  glv_volfile_xlator_option(g, clients[i], "remote-host"),
                                  glv_volfile_xlator_option(g, clients[i], "remote-subvolume"));
        glv_report_add(r, GLUVIRT_CHECK_FAIL, "bricks", volume, fix,
            "%zd of %zu bricks answer; not answering: %s", up, n,
            missing.data ? missing.data : "?");
    }
out:
    glv_strbuf_release(&missing);
    free(clients);
    free(down);
}

/* ------------------------------------------------------------ layout */

/* The replica count (0: not replicated) and whether a brick is an arbiter. */
static size_t replica_count(const struct glv_volfile_graph *g, int *arbiter)
{
    long rep = glv_volfile_first_xlator(g, "cluster/replicate", NULL);
    const char *a = glv_volfile_xlator_option(g, rep, "arbiter-count");

    *arbiter = a && strcmp(a, "0") != 0;
    return rep >= 0 ? glv_volfile_xlator_subvolumes(g, rep) : 0;
}

static void check_replica(struct gluvirt_volume_report *r, const struct glv_volfile_graph *g,
                          const char *volume)
{
    size_t sets, bricks, dispersed;
    int arbiter;
    size_t replica = replica_count(g, &arbiter);
    char *move = NULL;

    glv_volfile_first_xlator(g, "protocol/client", &bricks);
    glv_volfile_first_xlator(g, "cluster/replicate", &sets);
    glv_volfile_first_xlator(g, "cluster/disperse", &dispersed);
    if (replica < 2)
        move = glv_report_asprintf(r, "keep VM images on a replica 3 volume "
                                   "(scripts/virt-store-setup.sh makes one) and move them there");
    if (replica >= 3)
        glv_report_add(r, GLUVIRT_CHECK_PASS, "replica", volume, NULL,
            "replica %zu%s (%zu x %zu = %zu bricks)", replica, arbiter ? " arbiter 1" : "", sets,
            replica, bricks);
    else if (replica == 2)
        glv_report_add(r, GLUVIRT_CHECK_WARN, "replica", volume,
            glv_report_asprintf(r, "add a third brick to each replica set, or an arbiter: "
                                "gluster volume add-brick %s replica 3 arbiter 1 HOST:BRICK",
                                volume),
            "replica 2 (%zu x 2 = %zu bricks): when the two copies lose sight of each other "
            "both can take writes, and an image ends in split-brain", sets, bricks);
    else if (dispersed)
        glv_report_add(r, GLUVIRT_CHECK_WARN, "replica", volume, move,
            "dispersed volume (%zu bricks): VM images write small blocks at random places, "
            "which dispersed volumes do slowly", bricks);
    else
        glv_report_add(r, GLUVIRT_CHECK_WARN, "replica", volume, move,
            "plain distribute over %zu brick%s: each image has a single copy, so losing a "
            "brick loses the images on it", bricks, bricks == 1 ? "" : "s");
}

/* ------------------------------------------------------------ the virt group */

/* How a setting of the virt group shows in the client graph. */
enum tunable_rule {
    XLATOR_PRESENT,     /* the translator of type `type` is in the graph */
    XLATOR_ABSENT,
    OPTION_ON,          /* option `option` of `type` is on (absent_ok: absence passes) */
    OPTION_OFF,
    OPTION_EQUALS,      /* option equals `value` */
    OPTION_AT_MOST      /* a number: 1 ..value */
};

struct tunable {
    const char *key, *value; /* the volume option and what the virt group sets */
    const char *type;        /* the translator type that shows it in the client graph */
    const char *option;      /* its option, for the OPTION_* rules */
    enum tunable_rule rule;
    int absent_ok;           /* the translator's default already agrees */
    int replicated_only;
    const char *why;         /* what goes wrong without it */
};

#define WB "performance/write-behind"
#define CLIENT "protocol/client"
#define AFR "cluster/replicate"
static const struct tunable virt_group[] = {
    {"features.shard", "on", "features/shard", NULL, XLATOR_PRESENT, 0, 0, "each image lives "
     "whole on one brick set, so a heal copies whole images and one image can fill a brick "
     "(set it before storing images; never turn it off once images are sharded)"},
    {"network.remote-dio", "disable", CLIENT, "filter-O_DIRECT", OPTION_OFF, 1, 0,
     "the client drops O_DIRECT, so guests with cache=none do not get direct I/O"},
    {"performance.strict-o-direct", "on", WB, "strict-O_DIRECT", OPTION_ON, 0, 0,
     "write-behind may acknowledge O_DIRECT writes (cache=none) before the bricks have them"},
    {"performance.quick-read", "off", "performance/quick-read", NULL, XLATOR_ABSENT, 0, 0,
     "quick-read caches small files whole in the client, which images do not need"},
    {"performance.read-ahead", "off", "performance/read-ahead", NULL, XLATOR_ABSENT, 0, 0,
     "read-ahead in the client duplicates the guest's own and wastes bandwidth"},
    {"performance.io-cache", "off", "performance/io-cache", NULL, XLATOR_ABSENT, 0, 0,
     "io-cache keeps a second copy of data the guest caches already, stale after a migration"},
    {"performance.client-io-threads", "on", "performance/io-threads", NULL, XLATOR_PRESENT, 0,
     0, "requests are handled on the client's network threads, which limits parallel I/O"},
    {"network.ping-timeout", "20", CLIENT, "ping-timeout", OPTION_AT_MOST, 0, 0, "a hung server "
     "stalls guest I/O for up to twice the timeout (default 42 s; 0 means for ever)"},
    {"client.event-threads", "4", CLIENT, "event-threads", OPTION_EQUALS, 0, 0,
     "fewer client event threads limit throughput with several busy VMs"},
    {"cluster.lookup-optimize", "off", "cluster/distribute", "lookup-optimize", OPTION_OFF, 0,
     0, "the virt group turns it off so that images are always found after a rebalance"},
    {"cluster.eager-lock", "enable", AFR, "eager-lock", OPTION_ON, 1, 1,
     "every write takes and releases its own lock, which makes replicated writes slow"},
    {"cluster.quorum-type", "auto", AFR, "quorum-type", OPTION_EQUALS, 0, 1,
     "writes go on with fewer than half of the copies, which can end in split-brain"},
    {"cluster.data-self-heal-algorithm", "full", AFR, "data-self-heal-algorithm",
     OPTION_EQUALS, 0, 1, "heals compute checksums over whole images instead of copying them"},
    {"cluster.locking-scheme", "granular", AFR, "locking-scheme", OPTION_EQUALS, 0, 1,
     "a heal locks whole images and stalls the guest's writes"},
    {"cluster.choose-local", "off", AFR, "choose-local", OPTION_OFF, 0, 1,
     "reads prefer a local brick even when it is the slow or stale one"},
};

/* A boolean option in the graph may be spelled any way gluster accepts. */
static int is_on(const char *v)
{
    return v && (!strcmp(v, "on") || !strcmp(v, "enable") || !strcmp(v, "yes") ||
                 !strcmp(v, "true") || !strcmp(v, "1"));
}

static int is_off(const char *v)
{
    return v && (!strcmp(v, "off") || !strcmp(v, "disable") || !strcmp(v, "no") ||
                 !strcmp(v, "false") || !strcmp(v, "0"));
}

/* 1 when the graph shows the virt group's setting, 0 when not; *shown gets
 * what the graph shows ("on"/"off" for a translator that is there or not,
 * an option's value, or NULL for an option left at its default). */
static int tunable_ok(const struct tunable *t, const struct glv_volfile_graph *g,
                      size_t replica, const char **shown)
{
    long x = glv_volfile_first_xlator(g, t->type, NULL);
    const char *v = t->option ? glv_volfile_xlator_option(g, x, t->option) : NULL;

    *shown = t->option ? v : x >= 0 ? "on" : "off";
    switch (t->rule) {
    case XLATOR_PRESENT:
        return x >= 0;
    case XLATOR_ABSENT:
        return x < 0;
    case OPTION_ON:
        if (x < 0 && !strcmp(t->type, WB)) {
            *shown = "irrelevant (write-behind is off)";
            return 1;
        }
        return v ? is_on(v) : t->absent_ok;
    case OPTION_OFF:
        return v ? is_off(v) : t->absent_ok;
    case OPTION_EQUALS:
        /* replica 3 and more get quorum-type auto without saying so */
        if (!v && !strcmp(t->option, "quorum-type") && replica >= 3) {
            *shown = "auto";
            return 1;
        }
        return v ? !strcmp(v, t->value) : t->absent_ok;
    case OPTION_AT_MOST:
        return v && atoi(v) > 0 && atoi(v) <= atoi(t->value);
    }
    return 0;
}

static void check_tunables(struct gluvirt_volume_report *r, const struct glv_volfile_graph *g,
                           const char *volume)
{
    int arbiter;
    size_t replica = replica_count(g, &arbiter), i;

    for (i = 0; i < sizeof virt_group / sizeof virt_group[0]; i++) {
        const struct tunable *t = &virt_group[i];
        const char *shown;

        if (t->replicated_only && replica < 2)
            continue;
        if (tunable_ok(t, g, replica, &shown)) {
            if (!shown || !strcmp(shown, t->value))
                glv_report_add(r, GLUVIRT_CHECK_PASS, "tunable", t->key, NULL,
                    "%s is %s, as the virt group sets it", t->key, t->value);
            else
                glv_report_add(r, GLUVIRT_CHECK_PASS, "tunable", t->key, NULL,
                    "%s is %s (the virt group sets %s; this serves as well)", t->key, shown,
                    t->value);
        } else {
            glv_report_add(r, GLUVIRT_CHECK_WARN, "tunable", t->key,
                glv_report_asprintf(r, "gluster volume set %s %s %s (or 'gluster volume set %s "
                                    "group virt' for all of the group)", volume, t->key,
                                    t->value, volume),
                "%s is %s, not %s: %s", t->key, shown ? shown : "at its default", t->value,
                t->why);
        }
    }
}

/* ------------------------------------------------------------ the root */

static void check_owner(struct gluvirt_volume_report *r, glfs_t *fs, const char *volume,
                        const gluvirt_volume_check_options *o)
{
    struct stat st;
    int writable;
    char *fix;

    if (glfs_stat(fs, "/", &st) < 0) {
        int err = errno;

        glv_report_add(r, GLUVIRT_CHECK_FAIL, "owner", volume,
            glv_report_asprintf(r, "'gluster volume status %s' shows whether its bricks run",
                                volume),
            "cannot read the volume's root: %s", strerror(err));
        return;
    }
    if (st.st_uid == o->uid && st.st_gid == o->gid) {
        glv_report_add(r, GLUVIRT_CHECK_PASS, "owner", volume, NULL,
            "the volume's root belongs to %u:%u (mode %04o), the user qemu runs as", o->uid,
            o->gid, (unsigned)(st.st_mode & 07777));
        return;
    }
    writable = (st.st_uid == o->uid && (st.st_mode & S_IWUSR)) ||
               (st.st_gid == o->gid && (st.st_mode & S_IWGRP)) || (st.st_mode & S_IWOTH);
    fix = glv_report_asprintf(r, "gluster volume set %s storage.owner-uid %u storage.owner-gid "
                              "%u", volume, o->uid, o->gid);
    glv_report_add(r, writable ? GLUVIRT_CHECK_WARN : GLUVIRT_CHECK_FAIL, "owner", volume, fix,
        "the volume's root belongs to %u:%u with mode %04o, not to qemu's %u:%u: %s",
        (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777), o->uid,
        o->gid, writable ? "qemu can create images only because the mode lets anyone write"
                         : "qemu running as that user cannot create images there");
}

static void format_bytes(uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    unsigned u = 0;

    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void check_free_space(struct gluvirt_volume_report *r, glfs_t *fs, const char *volume,
                             const gluvirt_volume_check_options *o)
{
    struct statvfs sv;
    uint64_t unit, avail, total;
    char a[32], t[32], want[32];

    if (glfs_statvfs(fs, "/", &sv) < 0) {
        int err = errno;

        glv_report_add(r, GLUVIRT_CHECK_FAIL, "free-space", volume,
            glv_report_asprintf(r, "'gluster volume status %s' shows whether its bricks run",
                                volume),
            "cannot read the volume's free space: %s", strerror(err));
        return;
    }
    unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    avail = (uint64_t)sv.f_bavail * unit;
    total = (uint64_t)sv.f_blocks * unit;
    format_bytes(avail, a, sizeof a);
    format_bytes(total, t, sizeof t);
    format_bytes(o->min_free, want, sizeof want);
    if (avail < HARD_MIN_FREE || avail < total / 100)
        glv_report_add(r, GLUVIRT_CHECK_FAIL, "free-space", volume,
            glv_report_asprintf(r, "free space on the bricks, or add bricks: gluster volume "
                                "add-brick %s ...", volume),
            "only %s free of %s: guests will stop with I/O errors when it runs out", a, t);
    else if (avail < o->min_free)
        glv_report_add(r, GLUVIRT_CHECK_WARN, "free-space", volume,
            glv_report_asprintf(r, "free space on the bricks, or add bricks: gluster volume "
                                "add-brick %s ...", volume),
            "%s free of %s, less than the %s wanted", a, t, want);
    else
        glv_report_add(r, GLUVIRT_CHECK_PASS, "free-space", volume, NULL,
            "%s free of %s", a, t);
}

/* ------------------------------------------------------------ the check */

GLUVIRT_API gluvirt_volume_report *gluvirt_volume_check(gluvirt_pool *pool,
                                                        const gluvirt_uri *uri,
                                                        const gluvirt_volume_check_options *o)
{
    gluvirt_volume_check_options defaults;
    struct gluvirt_volume_report *r;
    gluvirt_pool *own_pool = NULL;
    gluvirt_connection *c = NULL;
    struct glv_volfile_graph g = {0};

    if (!uri) {
        glv_set_error(EINVAL, "gluvirt_volume_check: the URI is NULL");
        return NULL;
    }
    if (!o) {
        glv_volume_check_options_init(&defaults);
        o = &defaults;
    }
    if (!(r = calloc(1, sizeof *r)) ||
        (!pool && !(pool = own_pool = check_pool(o->timeout_ms, 0))))
        goto oom;
    if (check_servers(r, pool, uri) == 0) {
        glv_report_add(r, GLUVIRT_CHECK_FAIL, "volume", uri->volume,
            connect_fix(r, ECONNREFUSED, uri->volume),
            "volume %s cannot be reached: no volfile server answered", uri->volume);
        goto done;
    }
    if (!(c = gluvirt_pool_connect(pool, uri))) {
        int err = gluvirt_errno();

        glv_report_add(r, GLUVIRT_CHECK_FAIL, "volume", uri->volume,
            connect_fix(r, err, uri->volume), "%s", gluvirt_errmsg());
        goto done;
    }
    glv_report_add(r, GLUVIRT_CHECK_PASS, "volume", uri->volume, NULL,
        "a client connects to volume %s and its bricks", uri->volume);
    check_insecure_port(r, uri, o->timeout_ms);
    if (glv_volfile_graph_load(glv_connection_glfs(c), &g) < 0) {
        glv_report_add(r, GLUVIRT_CHECK_WARN, "volume", uri->volume,
            glv_report_asprintf(r, "run the check again; gfapi could not hand out the graph "
                                "it runs"),
            "the client graph of volume %s is not available, so its bricks, layout and "
            "options are not checked", uri->volume);
    } else {
        check_bricks(r, glv_connection_glfs(c), &g, uri->volume);
        check_replica(r, &g, uri->volume);
        check_tunables(r, &g, uri->volume);
    }
    check_owner(r, glv_connection_glfs(c), uri->volume, o);
    check_free_space(r, glv_connection_glfs(c), uri->volume, o);
done:
    glv_volfile_graph_release(&g);
    gluvirt_connection_release(c);
    gluvirt_pool_free(own_pool);
    if (r->failed)
        goto oom;
    return r;
oom:
    gluvirt_volume_report_free(r);
    glv_set_oom();
    return NULL;
}

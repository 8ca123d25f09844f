/* server: the supernode's life: directories, the two HTTP daemons, the wait queue, the GC
 * thread, the ready line, signals (SIGTERM/SIGINT drain and exit, SIGHUP reopens the log),
 * and the orderly stop. main() hands over to sn_server_run at once. */
#ifndef SN_SERVER_H
#define SN_SERVER_H

struct sn_ctx;
struct sn_settings;

/* Run until SIGTERM/SIGINT. Returns the process exit status. Call from the main thread
 * after curl_global_init, before any other thread exists. */
int sn_server_run(const struct sn_settings *cfg);

/* Count a request that starts on a daemon (for the drain at stop); *con_cls gets a
 * marker when it is NULL. Thread-safe. */
void sn_server_request_begin(struct sn_ctx *ctx, void **con_cls);

#endif

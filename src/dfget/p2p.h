/* The P2P part of a download: register with a supernode of the node list, run the pull
 * loop (protocol.md "GET /peer/task") feeding the swarm, move to the next supernode when
 * one fails, and finish with the whole file verified in the data file. The calling thread
 * runs it. */
#ifndef DG_P2P_H
#define DG_P2P_H

#include <stddef.h>

#include "job.h"

enum dg_p2p_status {
	DG_P2P_DONE,	  /* the data file is complete and verified */
	DG_P2P_FAILED,	  /* P2P cannot finish: try the source (unless notbs) */
	DG_P2P_AUTH,	  /* the supernode needs credentials: exit 1103 */
	DG_P2P_PREPARE,	  /* local trouble (disk space, data file): exit 1101 */
	DG_P2P_CANCELLED, /* cancelled by the caller */
};

/* data_fd: the data file; map_fd: its piece map (-1 for none). */
enum dg_p2p_status dg_p2p_run(struct dg_job *job, int data_fd, int map_fd, char *err,
			      size_t errsz);

#endif

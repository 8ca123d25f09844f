/* Constants of the Dragonfly 1.0 wire protocol (../shared/spec/protocol.md), shared by the
 * supernode, dfget and dfdaemon. */
#ifndef DF_PROTOCOL_H
#define DF_PROTOCOL_H

/* Server -> client, the JSON "code". */
enum df_code {
	DF_CODE_SUCCESS = 200,
	DF_CODE_SYSTEM_ERROR = 500,
	DF_CODE_PARAM_ERROR = 501,
	DF_CODE_TARGET_NOT_FOUND = 502,
	DF_CODE_PEER_FINISH = 600,
	DF_CODE_PEER_CONTINUE = 601,
	DF_CODE_PEER_WAIT = 602,
	DF_CODE_PEER_LIMITED = 603,
	DF_CODE_SUPER_FAIL = 604,
	DF_CODE_UNKNOWN_ERROR = 605,
	DF_CODE_TASK_CONFLICT = 606,
	DF_CODE_URL_NOT_REACHABLE = 607,
	DF_CODE_NEED_AUTH = 608,
	DF_CODE_WAIT_AUTH = 609,
	DF_CODE_SOURCE_ERROR = 610,
	DF_CODE_GET_PIECE_REPORT = 611,
	DF_CODE_GET_PEER_DOWN = 612,
};

/* Client -> server, piece result in /peer/task?result= */
enum df_piece_result {
	DF_RESULT_FAILED = 500,
	DF_RESULT_SUCCESS = 501,
	DF_RESULT_INVALID = 502,
	DF_RESULT_SEMISUC = 503,
};

/* Client -> server, task status in /peer/task?status= */
enum df_task_status {
	DF_STATUS_START = 700,
	DF_STATUS_RUNNING = 701,
	DF_STATUS_FINISH = 702,
};

/* dfget exit codes */
enum df_exit_code {
	DF_EXIT_OK = 0,
	DF_EXIT_USAGE = 1,
	DF_EXIT_PREPARE = 1101,
	DF_EXIT_REGISTER = 1103,
	DF_EXIT_DOWNLOAD = 1104,
};

#define DF_PORT_SUPERNODE_API 8002
#define DF_PORT_SUPERNODE_PIECES 8001
#define DF_PORT_DFDAEMON 65001
#define DF_UPLOADER_PORT_MIN 15000
#define DF_UPLOADER_PORT_MAX 65000

/* The cid the supernode uses for itself as a piece source: "cdnnode:<ip>~<taskId>". */
#define DF_CDN_CID_PREFIX "cdnnode:"

/* Header names on piece requests. */
#define DF_HDR_PIECE_NUM "pieceNum"
#define DF_HDR_PIECE_SIZE "pieceSize"

#endif

/* Logging: the line format, levels, errno text, file output, reopen after rotation and the
 * crash handler. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "unit.h"

static void test_format(void)
{
	char line[256];
	size_t n = df_log_format(line, sizeof(line), 1764298629.5, "sn", DF_LOG_WARN, 0, "hi");
	char want[128];
	snprintf(want, sizeof(want), "2025-11-28T02:57:09.500Z sn[%ld] WARN hi", (long)getpid());
	UNIT_STR_EQ(line, want);
	CU_ASSERT_EQUAL(n, strlen(want));
	df_log_format(line, sizeof(line), 0, "sn", DF_LOG_ERROR, -ENOENT, "open x");
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "ERROR open x: No such file or directory"));
	/* Truncation keeps a terminated string. */
	char tiny[8];
	CU_ASSERT_EQUAL(df_log_format(tiny, sizeof(tiny), 0, "sn", DF_LOG_INFO, 0, "x"), 7);
	CU_ASSERT_EQUAL(strlen(tiny), 7);
}

static void test_levels(void)
{
	enum df_log_level l;
	CU_ASSERT_TRUE(df_log_parse_level("DEBUG", &l) && l == DF_LOG_DEBUG);
	CU_ASSERT_TRUE(df_log_parse_level("warning", &l) && l == DF_LOG_WARN);
	CU_ASSERT_TRUE(df_log_parse_level("error", &l) && l == DF_LOG_ERROR);
	CU_ASSERT_FALSE(df_log_parse_level("loud", &l));
	CU_ASSERT_FALSE(df_log_parse_level(NULL, &l));
	df_log_set_level(DF_LOG_INFO);
	CU_ASSERT_EQUAL(df_log_get_level(), DF_LOG_INFO);
	CU_ASSERT_TRUE(df_log_enabled(DF_LOG_WARN));
	CU_ASSERT_FALSE(df_log_enabled(DF_LOG_DEBUG));
}

static char *slurp(const char *path)
{
	char *data = NULL;
	size_t len;
	if (df_read_file(path, 1 << 20, &data, &len) < 0)
		return strdup("");
	return data;
}

static void test_file_and_reopen(void)
{
	char dir[] = "/tmp/df-test-log-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char path[128], rotated[128];
	snprintf(path, sizeof(path), "%s/t.log", dir);
	snprintf(rotated, sizeof(rotated), "%s/t.log.1", dir);
	df_log_set_ident("test");
	df_log_set_level(DF_LOG_INFO);
	CU_ASSERT_EQUAL(df_log_open(path), 0);
	log_info("first %d", 1);
	log_debug("hidden %d", 2);
	errno = EACCES;
	log_errno(-EACCES, "with errno");
	CU_ASSERT_EQUAL(errno, EACCES); /* logging preserves errno */
	char *text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "test["));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "INFO first 1\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "hidden"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "ERROR with errno: Permission denied\n"));
	free(text);

	/* logrotate moves the file; reopen starts a new one. */
	CU_ASSERT_EQUAL(rename(path, rotated), 0);
	log_warn("to rotated");
	CU_ASSERT_EQUAL(df_log_reopen(), 0);
	log_warn("to new");
	text = slurp(rotated);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "to rotated"));
	free(text);
	text = slurp(path);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "to new"));
	CU_ASSERT_PTR_NULL(strstr(text, "to rotated"));
	free(text);

	CU_ASSERT_EQUAL(df_log_open("/nonexistent-dir/x.log"), -ENOENT);
	df_log_close();
	CU_ASSERT_EQUAL(df_log_reopen(), 0); /* stderr: nothing to reopen */
	df_remove_tree(dir);
}

/* --console: lines go to the file and to stderr; off again, only to the file. */
static void test_tee_stderr(void)
{
	char dir[] = "/tmp/df-test-log-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char path[128], errpath[128];
	snprintf(path, sizeof(path), "%s/t.log", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	int saved = dup(STDERR_FILENO);
	int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(saved >= 0 && efd >= 0);
	fflush(stderr);
	dup2(efd, STDERR_FILENO);
	CU_ASSERT_EQUAL(df_log_open(path), 0);
	df_log_set_tee_stderr(true);
	log_info("both places");
	df_log_set_tee_stderr(false);
	log_info("file only");
	df_log_close();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(efd);
	char *file = slurp(path), *err = slurp(errpath);
	CU_ASSERT_PTR_NOT_NULL(strstr(file, "both places"));
	CU_ASSERT_PTR_NOT_NULL(strstr(file, "file only"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "both places"));
	CU_ASSERT_PTR_NULL(strstr(err, "file only"));
	free(file);
	free(err);
	df_remove_tree(dir);
}

/* A fatal signal leaves one line and a backtrace in the log, and the process still dies of
 * that signal. In a child, which logs to a file. */
static void test_crash_handler(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	CU_ASSERT_FALSE(df_log_install_crash_handler()); /* the sanitizer reports crashes */
#else
	char dir[] = "/tmp/df-test-log-XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	char path[128], err_path[128];
	snprintf(path, sizeof(path), "%s/crash.log", dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	pid_t pid = unit_fork_crasher();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (efd < 0 || dup2(efd, STDERR_FILENO) < 0)
			_exit(2);
		df_log_set_ident("crashtest");
		if (df_log_open(path) < 0 || !df_log_install_crash_handler())
			_exit(3);
		log_info("before the crash");
		raise(SIGSEGV);
		_exit(4); /* not reached */
	}
	int st = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(st));
	CU_ASSERT_EQUAL(WIFSIGNALED(st) ? WTERMSIG(st) : -1, SIGSEGV);
	char *log = slurp(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	if (!log)
		return; /* (the FATAL assertion already ended the test) */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "before the crash"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "crashtest: FATAL: signal 11 (SIGSEGV)"));
	const char *bt = strstr(log, "backtrace:\n");
	CU_ASSERT_PTR_NOT_NULL(bt);
	/* at least two frames, each "module(+offset)[address]" */
	int frames = 0;
	for (const char *p = bt ? bt : ""; (p = strstr(p, ")[0x")) != NULL; p++)
		frames++;
	CU_ASSERT_TRUE(frames >= 2);
	free(log);
	/* The terminal gets the one line and where the backtrace went, not the backtrace. */
	char *err = slurp(err_path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err);
	if (!err)
		return;
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "crashtest: FATAL: signal 11 (SIGSEGV), a bug: please "
					   "report it with the backtrace now at the end of the log"));
	CU_ASSERT_PTR_NULL(strstr(err, ")[0x"));
	free(err);
	df_remove_tree(dir);
#endif
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_format),
	UNIT_TEST(test_levels),
	UNIT_TEST(test_file_and_reopen),
	UNIT_TEST(test_tee_stderr),
	UNIT_TEST(test_crash_handler),
};
UNIT_MAIN("log", tests)

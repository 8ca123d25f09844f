/* Shared scaffolding for the CUnit test programs: each test file lists its tests in a
 * table and calls unit_main(). The exit status is non-zero when any assertion failed or a
 * suite could not start (CU_basic_run_tests alone reports success in both cases). */
#ifndef DF_TEST_UNIT_H
#define DF_TEST_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }

/* Fork a child that is meant to crash (a crash handler's test): it writes no core. Returns
 * fork's value; the caller checks it is not negative. */
static inline pid_t unit_fork_crasher(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
	}
	return pid;
}

static inline int unit_main(const char *suite_name, const struct unit_test *tests, size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_ErrorCode rc = CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failure_records();
	unsigned ran = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	printf("\nSUMMARY %s: %u tests, %u passed, %u failed\n", suite_name, ran, ran - failed,
	       failed);
	return rc == CUE_SUCCESS && failures == 0 ? 0 : 1;
}

#define UNIT_MAIN(suite, table) \
	int main(void) { return unit_main(suite, table, sizeof(table) / sizeof(table[0])); }

/* Exact string equality with both values shown on failure. */
#define UNIT_STR_EQ(actual, expected)                                                      \
	do {                                                                                \
		const char *a_ = (actual), *e_ = (expected);                               \
		if (!a_ || strcmp(a_, e_) != 0)                                            \
			fprintf(stderr, "  %s:%d: got '%s', want '%s'\n", __FILE__, __LINE__,   \
				a_ ? a_ : "(null)", e_);                                   \
		CU_ASSERT_STRING_EQUAL_FATAL(a_ ? a_ : "(null)", e_);                      \
	} while (0)

#endif

/* stage: the staged row's format.  A row round-trips (binary frame
 * included); a row of another format version is refused, not read as this
 * one, with a log line that names it; a damaged row is refused with a log
 * line; bad input to the formatter is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stage.h"
#include "tap.h"

/* stderr into a file while a parse logs; returns what was written. */
static FILE *cap_file;
static int saved_err;
static void capture(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	saved_err = dup(2);
	dup2(fileno(cap_file), 2);
}
static const char *captured(void)
{
	static char buf[8192];
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(cap_file);
	size_t n = fread(buf, 1, sizeof buf - 1, cap_file);
	buf[n] = '\0';
	fclose(cap_file);
	return buf;
}

/* A frame with the bytes a text parser trips on: newline, tab, NUL. */
static const char frame[] = { 0x28, (char)0xb5, 0x2f, (char)0xfd, '\n', '\t', 0, '1', '\n', 0x7f };
static const char *audits[] = { "{\"action\":\"expire\",\"measure\":\"a\"}",
				"{\"action\":\"expire\",\"measure\":\"b\"}" };

static struct stage_row sample(void)
{
	return (struct stage_row){ .at = 1743433200, .pack = "0123abcd", .kind = "application",
				   .state = "expired", .rev = 7, .old_kind = "application",
				   .old_state = "submitted", .audits = audits, .n_audits = 2,
				   .eval = "{\"decision\":\"no\"}", .frame = frame,
				   .frame_len = sizeof frame };
}

/* Parses a copy of `row` (len bytes) under `key`: the code, and the log. */
static int parse_copy(const char *row, size_t len, const char *key, const char **log)
{
	char *b = malloc(len + 1);
	memcpy(b, row, len);
	b[len] = '\0';
	struct stage_row r;
	capture();
	int rc = stage_row_parse(b, len, key, &r);
	*log = captured();
	if (rc == 0)
		stage_row_clear(&r);
	free(b);
	return rc;
}

static void round_trip(void)
{
	struct stage_row in = sample(), out;
	char *row;
	size_t len;
	is_int(stage_row_format(&in, &row, &len), 0, "a row is formatted");
	is_int(strncmp(row, "1\t", 2), 0, "its first field is the format version");
	is_int(stage_row_parse(row, len, "stage/A-1", &out), 0, "and parsed back");
	is_int(out.version, STAGE_ROW_VERSION, "version");
	is_int(out.at, in.at, "at");
	is_str(out.pack, in.pack, "pack");
	is_str(out.kind, in.kind, "kind");
	is_str(out.state, in.state, "state");
	is_int(out.rev, in.rev, "rev");
	is_str(out.old_kind, in.old_kind, "old_kind");
	is_str(out.old_state, in.old_state, "old_state");
	is_int((long long)out.n_audits, 2, "two audit entries");
	is_str(out.n_audits == 2 ? out.audits[0] : NULL, audits[0], "the first audit entry");
	is_str(out.n_audits == 2 ? out.audits[1] : NULL, audits[1], "the second audit entry");
	is_str(out.eval, in.eval, "eval's answer");
	is_int((long long)out.frame_len, sizeof frame, "the frame's length");
	ok(out.frame_len == sizeof frame && memcmp(out.frame, frame, sizeof frame) == 0,
	   "the frame's bytes (newline, tab and NUL in it)");
	stage_row_clear(&out);
	free(row);

	in.eval = NULL;
	in.n_audits = 1;
	is_int(stage_row_format(&in, &row, &len), 0, "a row without eval's answer is formatted");
	is_int(stage_row_parse(row, len, NULL, &out), 0, "and parsed back");
	ok(out.eval == NULL, "no eval's answer");
	is_int((long long)out.n_audits, 1, "one audit entry");
	ok(out.frame_len == sizeof frame && memcmp(out.frame, frame, sizeof frame) == 0, "the frame");
	stage_row_clear(&out);
	free(row);
}

static void refused(void)
{
	struct stage_row in = sample();
	char *row;
	size_t len;
	const char *log;
	stage_row_format(&in, &row, &len);

	/* Another format version: the header is otherwise the same. */
	row[0] = '2';
	is_int(parse_copy(row, len, "stage/A-1", &log), -EPROTONOSUPPORT,
	       "a row of format version 2 is refused as such");
	if (!ok(strstr(log, "version=2") && strstr(log, "stage/A-1") && strstr(log, "reads=1"),
		"and logged with its version, its key and the version this build reads"))
		tap_diag("log: %s", log);
	is_int(parse_copy("17\tx\n{}\nZ", 9, "stage/A-2", &log), -EPROTONOSUPPORT,
	       "any other version too, whatever follows");
	row[0] = '1';

	static const char *damaged_why = "damaged";
	is_int(parse_copy(row, len - 1, "stage/A-3", &log), -EBADMSG, "a row cut short is damaged");
	if (!ok(strstr(log, damaged_why) && strstr(log, "stage/A-3"), "and logged with its key"))
		tap_diag("log: %s", log);
	const char *bad[] = {
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t1\t0\n{}\nZ",             /* a field missing */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t1\t0\t99\n{}\nZ",         /* frame longer than the row */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t3\t0\t1\n{}\nZ",          /* three audits said, one there */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t1\t1\t1\n{}\nZ",          /* eval said, none there */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t0\t0\t1\n\nZ",            /* no audit entry */
		"1\tsoon\tp\tk\ts\t7\tk\ts\t1\t0\t1\n{}\nZ",                /* at not a number */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t1\t0\t0\n{}\n",           /* no frame */
		"x\t1743433200\tp\tk\ts\t7\tk\ts\t1\t0\t1\n{}\nZ",          /* no version */
		"1\t1743433200\tp\tk\ts\t7\tk\ts\t1\t0\t1",                 /* no newline at all */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char desc[80];
		snprintf(desc, sizeof desc, "damaged row %zu is refused", i + 1);
		is_int(parse_copy(bad[i], strlen(bad[i]), "stage/B", &log), -EBADMSG, desc);
	}
	is_int(parse_copy(row, len - 1, NULL, &log), -EBADMSG, "without a key ...");
	is_str(log, "", "... nothing is logged");
	free(row);

	/* The formatter refuses what it could not read back. */
	in.kind = "app\tlication";
	is_int(stage_row_format(&in, &row, &len), -EINVAL, "a name with a tab is refused");
	in = sample();
	in.old_state = "sub\nmitted";
	is_int(stage_row_format(&in, &row, &len), -EINVAL, "a name with a newline is refused");
	in = sample();
	in.eval = "{\n}";
	is_int(stage_row_format(&in, &row, &len), -EINVAL, "a text with a newline is refused");
	in = sample();
	in.n_audits = 0;
	is_int(stage_row_format(&in, &row, &len), -EINVAL, "a row without an audit entry is refused");
	in = sample();
	in.frame_len = 0;
	is_int(stage_row_format(&in, &row, &len), -EINVAL, "a row without a frame is refused");
}

int main(void)
{
	round_trip();
	refused();
	return tap_done();
}

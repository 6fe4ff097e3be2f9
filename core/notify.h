/*
 * notify — tells the service manager how the daemon is doing (systemd's
 * sd_notify: READY, RELOADING, STOPPING, each with a STATUS line).  A no-op
 * when the daemon was not started by systemd.  The only module that
 * includes systemd headers.
 */
#ifndef LIU_NOTIFY_H
#define LIU_NOTIFY_H

/* Each sends one state and its line for `systemctl status` (`status`, or
 * "serving" when NULL; the other two say what the daemon is doing). */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);

#endif

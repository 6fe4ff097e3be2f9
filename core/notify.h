/*
 * notify — tells the service manager how the daemon is doing (systemd's
 * sd_notify: READY, RELOADING, STOPPING, STATUS).  A no-op when the daemon
 * was not started by systemd.  The only module that includes systemd headers.
 */
#ifndef LIU_NOTIFY_H
#define LIU_NOTIFY_H

/* Each sends one state; `status` is a line for `systemctl status`. */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *status);

#endif

/*
 * delivery.h - the delivery team's moves: the delivery state machine as one
 * table (drawn in delivery.c, above it), shared by the delivery service
 * (backend/svc_delivery.c applies the moves, by hand or in auto mode) and
 * the TUI's board (tui/screen_delivery.c, whose keys name them).
 * proto/SPEC.md, "delivery", says the same in words.
 */
#ifndef DELIVERY_H
#define DELIVERY_H

typedef struct {
    const char *command;   /* the protocol command: "delivery.confirm" */
    const char *from;      /* the one state it applies to */
    const char *to;        /* the state it leads to; NULL: back to the state before the request */
    const char *event;     /* the event it publishes */
    int forward;           /* one step on the way to the customer (not a cancellation answer) */
} delivery_move_t;

/* Every move; the entry with command NULL ends the table. Static data. */
extern const delivery_move_t delivery_moves[];

/* The move of a command, or NULL. */
const delivery_move_t *delivery_move_find(const char *command);
/* The forward move from state status (confirm, ship or complete), or NULL. */
const delivery_move_t *delivery_move_next(const char *status);

#endif

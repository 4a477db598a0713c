/*
 * delivery.h - the delivery team's moves: the delivery state machine as one
 * table, shared by the delivery service (backend/svc_delivery.c applies them,
 * by hand or in auto mode) and the TUI's board (tui/screen_delivery.c, whose
 * keys name them). proto/SPEC.md, "delivery", says the same in words.
 *
 *   received --confirm--> confirmed --ship--> shipped --complete--> delivered
 *   received | confirmed | shipped --cancel_request--> cancel_requested
 *   cancel_requested --cancel_confirm--> cancelled
 *   cancel_requested --cancel_reject--> the state it had before the request
 *
 * cancel_request is not a move of the team's (the order service asks it on a
 * customer's behalf, from any of three states): the delivery service handles
 * it on its own. A delivered order cannot be cancelled.
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

/* Every move, in the order drawn above; the entry with command NULL ends it. */
extern const delivery_move_t delivery_moves[];

/* The move of a command, or NULL. */
const delivery_move_t *delivery_move_find(const char *command);
/* The forward move from state status (confirm, ship or complete), or NULL. */
const delivery_move_t *delivery_move_next(const char *status);

#endif

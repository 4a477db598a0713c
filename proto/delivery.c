/*
 * delivery.c - the delivery moves (see delivery.h).
 */
#include "delivery.h"

#include <stddef.h>
#include <string.h>

/*
 * The state machine of a delivery, all of it:
 *
 *   received --confirm--> confirmed --ship--> shipped --complete--> delivered
 *   received | confirmed | shipped --cancel_request--> cancel_requested
 *   cancel_requested --cancel_confirm--> cancelled
 *   cancel_requested --cancel_reject--> the state it had before the request
 *
 * The table holds the team's moves. cancel_request is not one of them: the
 * order service asks it on a customer's behalf, from any of three states,
 * and the delivery service handles it on its own (a delivered order cannot
 * be cancelled).
 */
const delivery_move_t delivery_moves[] = {
    {"delivery.confirm", "received", "confirmed", "DeliveryConfirmed", 1},
    {"delivery.ship", "confirmed", "shipped", "Shipped", 1},
    {"delivery.complete", "shipped", "delivered", "Delivered", 1},
    {"delivery.cancel_confirm", "cancel_requested", "cancelled", "DeliveryCanceled", 0},
    {"delivery.cancel_reject", "cancel_requested", NULL, "CancelRejected", 0},
    {NULL, NULL, NULL, NULL, 0},
};

const delivery_move_t *delivery_move_find(const char *command)
{
    for (const delivery_move_t *m = delivery_moves; m->command; m++)
        if (strcmp(m->command, command) == 0)
            return m;
    return NULL;
}

const delivery_move_t *delivery_move_next(const char *status)
{
    for (const delivery_move_t *m = delivery_moves; m->command; m++)
        if (m->forward && strcmp(m->from, status) == 0)
            return m;
    return NULL;
}

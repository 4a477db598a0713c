/*
 * delivery.c - the delivery moves (the state machine is drawn in delivery.h).
 */
#include "delivery.h"

#include <stddef.h>
#include <string.h>

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

/*
 * status.c - the delivery -> order status mapping (status.h).
 */
#include "status.h"

#include <stddef.h>
#include <string.h>

/* Every delivery state (svc_delivery.c's state machine) and the order's
 * status that follows it. A cancelled delivery is a cancelled order: the
 * order service marks it so (and publishes OrderCancelled) on every
 * DeliveryCanceled, so a reader of the delivery event may say so too. */
static const struct {
    const char *delivery;
    const char *order;
} follows[] = {
    {"received", "placed"},
    {"confirmed", "confirmed"},
    {"shipped", "shipped"},
    {"delivered", "delivered"},
    {"cancel_requested", "cancel_requested"},
    {"cancelled", "cancelled"},
};

const char *status_order_for(const char *delivery)
{
    for (size_t i = 0; delivery && i < sizeof follows / sizeof follows[0]; i++)
        if (strcmp(follows[i].delivery, delivery) == 0)
            return follows[i].order;
    return NULL;
}

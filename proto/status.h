/*
 * status.h - the order's status that follows its delivery's (DESIGN section
 * 5, proto/SPEC.md "order"): the one mapping that the order service (its
 * orders table) and the view service (my orders' orderStatus) both apply to
 * delivery events, so that `counter orders show` and `counter myorders` agree.
 */
#ifndef STATUS_H
#define STATUS_H

/* The order's status once its delivery is in state delivery: "placed" while
 * the delivery is received, then the delivery's own word (confirmed, shipped,
 * delivered, cancel_requested, cancelled). NULL for a word that is not a
 * delivery state (the order's status stays as it was). The string is static. */
const char *status_order_for(const char *delivery);

#endif

/* The baseline for `make bench`: a plain publish loop against librabbitmq, with publisher
 * confirms awaited once per batch (the fastest correct way in 0.11, which has no
 * amqp_publisher_confirm_wait). The Swift wrapper is measured against this in the same run.
 *
 *   amqp_publish_loop HOST PORT QUEUE MESSAGES BATCH BODY_BYTES  -> prints messages per second
 */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die_on_reply(amqp_rpc_reply_t reply, const char *what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "%s failed (reply type %d)\n", what, reply.reply_type);
        exit(1);
    }
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT QUEUE MESSAGES BATCH BODY_BYTES\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *queue = argv[3];
    int port = atoi(argv[2]), messages = atoi(argv[4]), batch = atoi(argv[5]), size = atoi(argv[6]);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (!socket || amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) {
        fprintf(stderr, "cannot connect to %s:%d\n", host, port);
        return 1;
    }
    die_on_reply(amqp_login(conn, "/", 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "channel.open");
    amqp_confirm_select(conn, 1);
    die_on_reply(amqp_get_rpc_reply(conn), "confirm.select");

    char *body = malloc(size);
    memset(body, 'x', size);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;
    props.content_type = amqp_cstring_bytes("application/json");

    double start = now_seconds();
    uint64_t published = 0, confirmed = 0;
    while (published < (uint64_t)messages) {
        int in_batch = 0;
        while (in_batch < batch && published < (uint64_t)messages) {
            amqp_bytes_t payload = {.len = (size_t)size, .bytes = body};
            if (amqp_basic_publish(conn, 1, amqp_cstring_bytes(""), amqp_cstring_bytes(queue), 0, 0, &props, payload) != AMQP_STATUS_OK) {
                fprintf(stderr, "publish failed\n");
                return 1;
            }
            published++;
            in_batch++;
        }
        while (confirmed < published) {
            amqp_frame_t frame;
            if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) {
                fprintf(stderr, "waiting for confirms failed\n");
                return 1;
            }
            if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
                amqp_basic_ack_t *ack = frame.payload.method.decoded;
                confirmed = ack->delivery_tag;
            }
        }
    }
    double elapsed = now_seconds() - start;
    printf("%.0f\n", messages / elapsed);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    free(body);
    return 0;
}

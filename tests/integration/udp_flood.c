// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_hidden_steal.py's sender: one UDP payload to ADDR:PORT, again and
 * again, as fast as sendmmsg() goes, until killed. A Python send() loop
 * reached about 30,000 packets/s on the test machine, whose NET_RX took
 * 2.5 % of the vCPU; this reached 280,000/s and 26 %. 1400 bytes, the
 * most one packet holds at a veth's MTU of 1500: it took more of the
 * receiving CPU per packet sent than 16 bytes or 8000 in fragments did.
 * Usage: udp_flood ADDR PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FLOOD_BATCH 64

int main(int argc, char **argv)
{
	static char payload[1400];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct mmsghdr msgs[FLOOD_BATCH];
	int sock;

	if (argc != 3 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		return 2;
	to.sin_port = htons((unsigned short)atoi(argv[2]));
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&to, sizeof(to)))
		return 1;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < FLOOD_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* Errors are a full queue: the next call tries again. */
	for (;;)
		sendmmsg(sock, msgs, FLOOD_BATCH, 0);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bench helper: the two ends of a UDP packet storm.
 *   udp_storm send ADDR PORT SECONDS   sends 64-byte datagrams as fast as
 *                                      it can; prints "sent N"
 *   udp_storm sink PORT SECONDS        counts datagrams received; prints
 *                                      "received N" and stops after SECONDS
 * Where each runs (namespace, CPU) is the caller's business.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int send_storm(const char *addr, int port, double seconds)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	char payload[64] = { 0 };
	unsigned long long sent = 0;
	double end = now_s() + seconds;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &to.sin_addr) != 1) {
		perror("udp_storm send");
		return 1;
	}
	while (now_s() < end)
		for (int i = 0; i < 256; i++)
			if (sendto(fd, payload, sizeof(payload), 0,
				   (struct sockaddr *)&to, sizeof(to)) > 0)
				sent++;
	printf("sent %llu\n", sent);
	close(fd);
	return 0;
}

static int sink(int port, double seconds)
{
	struct sockaddr_in at = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct timeval wait = { .tv_sec = 0, .tv_usec = 100000 };
	unsigned long long received = 0;
	int size = 8 << 20;
	char buf[2048];
	double end;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at))) {
		perror("udp_storm sink");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
	printf("listening\n");
	fflush(stdout);
	end = now_s() + seconds;
	while (now_s() < end)
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			received++;
	printf("received %llu\n", received);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return send_storm(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "sink") == 0)
		return sink(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: %s send ADDR PORT SECONDS | sink PORT SECONDS\n",
		argv[0]);
	return 2;
}

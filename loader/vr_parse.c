/* Strict parsers for addresses, prefixes, MACs, numbers and encapsulations: all or nothing, no trailing garbage. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "vr_internal.h"

int vr_parse_u32(const char *s, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

int vr_parse_ipv4(const char *s, __be32 *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

/* The core of both families' prefix parsers: "ADDR[/LEN]" split into the address text (copied into buf, which
 * also bounds the whole string's length) and *plen, max_plen where no length is given. */
static int vr_parse_prefix_split(const char *s, char *buf, size_t size, __u32 max_plen, __u32 *plen)
{
	char *slash;

	if (!s || strlen(s) >= size)
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash) {
		*plen = max_plen;
		return 0;
	}
	*slash = '\0';
	return vr_parse_u32(slash + 1, max_plen, plen) ? -EINVAL : 0;
}

int vr_parse_prefix4(const char *s, __be32 *addr, __u32 *plen)
{
	char buf[INET_ADDRSTRLEN + 4];

	if (vr_parse_prefix_split(s, buf, sizeof(buf), 32, plen))
		return -EINVAL;
	return vr_parse_ipv4(buf, addr);
}

int vr_parse_ipv6(const char *s, struct in6_addr *out)
{
	struct in6_addr a;

	/* inet_pton takes neither a zone ("%eth0") nor a prefix length: an address and nothing else. */
	if (!s || inet_pton(AF_INET6, s, &a) != 1)
		return -EINVAL;
	*out = a;
	return 0;
}

int vr_parse_prefix6(const char *s, struct in6_addr *addr, __u32 *plen)
{
	char buf[INET6_ADDRSTRLEN + 5];
	struct in6_addr a;

	if (vr_parse_prefix_split(s, buf, sizeof(buf), 128, plen) || vr_parse_ipv6(buf, &a))
		return -EINVAL;
	/* No bits beyond the length: a prefix, not an address with a length. */
	for (__u32 i = *plen; i < 128; i++)
		if (a.s6_addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	*addr = a;
	return 0;
}

int vr_parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char tail;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	/* Exactly xx:xx:xx:xx:xx:xx: %2x alone would also take a sign or a space ("-1:..." as ff). */
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", /* NOLINT(cert-err34-c): digits checked above */
		   &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	return 0;
}

const char *vr_encap_name(__u8 encap)
{
	return encap == VR_ENCAP_UDP ? "udp" : encap == VR_ENCAP_GRE ? "gre" : "?";
}

int vr_parse_encap(const char *s, __u8 *out)
{
	if (s && !strcmp(s, "udp"))
		*out = VR_ENCAP_UDP;
	else if (s && !strcmp(s, "gre"))
		*out = VR_ENCAP_GRE;
	else
		return -EINVAL;
	return 0;
}

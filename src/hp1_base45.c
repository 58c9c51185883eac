/*
 * hp1_base45.c
 *	  base45 (RFC 9285): the QR alphanumeric alphabet, two bytes to three
 *	  characters. PostgreSQL-free (see hp1_codec.h).
 */
#include "hp1_codec.h"

static const char b45_alphabet[46] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* value of each character, -1 when it is not in the alphabet */
static const int8_t b45_value[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13,
	['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18, ['I'] = 19,
	['J'] = 20, ['K'] = 21, ['L'] = 22, ['M'] = 23, ['N'] = 24, ['O'] = 25,
	['P'] = 26, ['Q'] = 27, ['R'] = 28, ['S'] = 29, ['T'] = 30, ['U'] = 31,
	['V'] = 32, ['W'] = 33, ['X'] = 34, ['Y'] = 35, ['Z'] = 36, [' '] = 37,
	['$'] = 38, ['%'] = 39, ['*'] = 40, ['+'] = 41, ['-'] = 42, ['.'] = 43,
	['/'] = 44, [':'] = 45
};								/* stored plus one, so that 0 means "not base45" */

/* hp1_base45_encoded_len: characters needed for n bytes */
size_t
hp1_base45_encoded_len(size_t n)
{
	return (n / 2) * 3 + (n % 2) * 2;
}

/* hp1_base45_encode: writes hp1_base45_encoded_len(n) characters, no NUL */
void
hp1_base45_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		i;

	for (i = 0; i + 1 < n; i += 2)
	{
		unsigned	v = ((unsigned) in[i] << 8) | in[i + 1];

		*out++ = b45_alphabet[v % 45];
		v /= 45;
		*out++ = b45_alphabet[v % 45];
		*out++ = b45_alphabet[v / 45];
	}
	if (i < n)
	{
		unsigned	v = in[i];

		*out++ = b45_alphabet[v % 45];
		*out++ = b45_alphabet[v / 45];
	}
}

/* hp1_base45_decoded_max: bytes that n characters can decode to, at most */
size_t
hp1_base45_decoded_max(size_t n)
{
	return (n / 3) * 2 + 1;
}

/* hp1_base45_decode: false when a character, a group value or the length is wrong */
bool
hp1_base45_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
	size_t		i;
	uint8_t    *o = out;

	if (n % 3 == 1)
		return false;
	for (i = 0; i < n; i += 3)
	{
		int			c = b45_value[(unsigned char) in[i]] - 1;
		int			d = b45_value[(unsigned char) in[i + 1]] - 1;

		if (c < 0 || d < 0)
			return false;
		if (i + 2 < n)
		{
			int			e = b45_value[(unsigned char) in[i + 2]] - 1;
			unsigned	v;

			if (e < 0)
				return false;
			v = (unsigned) c + (unsigned) d * 45 + (unsigned) e * 2025;
			if (v > 0xFFFF)
				return false;
			*o++ = (uint8_t) (v >> 8);
			*o++ = (uint8_t) v;
		}
		else
		{
			unsigned	v = (unsigned) c + (unsigned) d * 45;

			if (v > 0xFF)
				return false;
			*o++ = (uint8_t) v;
		}
	}
	*outlen = (size_t) (o - out);
	return true;
}

/*
 * fuzz_battery_id — the text input of the battery_id type
 * (bl_battery_id_parse in src/core/type_text.c, called by battery_id_in and
 * battery_id_recv).  The canonical text must be printable ASCII and must
 * parse to itself: battery_id_recv accepts exactly that text, and pg_dump
 * round-trips values through it.  A refusal must say why and how.
 */
#include "fuzz.h"
#include "type_text.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bl_bid_result r;
	static bl_bid_result again;
	int			len = size > BL_BID_INPUT_MAX + 1 ? BL_BID_INPUT_MAX + 1 : (int) size;

	if (bl_battery_id_parse((const char *) data, len, &r) != 0)
	{
		FUZZ_CHECK(r.detail[0] != '\0' && r.hint != NULL);
		return 0;
	}
	FUZZ_CHECK(len <= BL_BID_INPUT_MAX);
	FUZZ_CHECK(r.canon_len > 0 && r.canon_len <= BL_BID_INPUT_MAX &&
			   (int) strlen(r.canon) == r.canon_len);
	for (int i = 0; i < r.canon_len; i++)
		FUZZ_CHECK(r.canon[i] > 0x20 && r.canon[i] < 0x7f);
	/* the layout battery_id.c's accessors (bid_serial, battery_gtin) rely on */
	if (memcmp(r.canon, BL_BID_GS1_PREFIX, BL_BID_GS1_PREFIX_LEN) == 0)
		FUZZ_CHECK(r.canon_len > BL_BID_GS1_SERIAL_OFF &&
				   memcmp(r.canon + BL_BID_GS1_SERIAL_OFF - 4, "/21/", 4) == 0);
	else
	{
		const char *iac = r.canon + BL_BID_ISO_PREFIX_LEN;
		const char *cin;

		FUZZ_CHECK(memcmp(r.canon, BL_BID_ISO_PREFIX, BL_BID_ISO_PREFIX_LEN) == 0);
		cin = memchr(iac, '/', r.canon_len - BL_BID_ISO_PREFIX_LEN);
		FUZZ_CHECK(cin && memchr(cin + 1, '/', r.canon + r.canon_len - cin - 1));
	}
	FUZZ_CHECK(bl_battery_id_parse(r.canon, r.canon_len, &again) == 0);
	FUZZ_CHECK(again.canon_len == r.canon_len &&
			   memcmp(again.canon, r.canon, r.canon_len) == 0);
	return 0;
}

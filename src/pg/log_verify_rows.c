/*
 * log_verify_rows.c — verify_log(true)'s check of the sealed rows against
 * their leaves, without the executor.
 *
 * verify_log(true) used to ask two statements per ledger table: a join of
 * log_leaf with the table re-hashing every row through row_bytes(t.*), and a
 * NOT EXISTS over log_leaf and log_pending for every row.  Most of its time
 * was the executor's: hash joins, whole-row records formed and deformed
 * again, and JIT compiling both plans (docs/benchmarks.md, 0.6.0).  Here the
 * leaves and the queue are read with one heap scan each and kept in a hash
 * set keyed by (seq, row hash); the table is read with one heap scan, and a
 * row is re-hashed only when a leaf of this table names its (seq, hash).
 * What is reported, with which refs and details and in which order, is what
 * the two statements reported.
 *
 * The set is built only when needed (0.12.0).  seal() turns the queue into
 * leaves in the order the rows were written, so a table's leaves, read in
 * log_leaf's heap order, name its rows in the table's heap order: the scan
 * first compares a row with the leaf after the last one matched (a cursor)
 * and asks the set only when that is not its leaf.  Each question to a set
 * of 1M entries (~100 MB) was a cache and TLB miss: inserting the leaves,
 * finding each leaf's entry and looking up each row were over a third of
 * verify_log(true)'s CPU time (perf, docs/benchmarks.md, 0.12.0).  A table
 * whose rows all meet their leaves in order never builds it.
 *
 * The leaves are not read here (0.14.0): verify_leaves() reads every leaf
 * anyway, and it hands each table's (leaf_index, seq, row hash) over
 * (LeafTables), in log_leaf's heap order as before.  Reading log_leaf a
 * second time per table, and asking SELECT DISTINCT tbl of it through the
 * executor for the list of tables, were about a third of verify_log(true)'s
 * CPU time (perf, docs/benchmarks.md, 0.14.0).
 *
 * Why one file: LeafTables is filled for this check alone, in the order its
 * cursor relies on, and shares its LeafRef and SealedKey; apart, both files
 * would expose them in a header for no other reader.
 */
#include "log.h"
#include "log_internal.h"
#include "pgutil.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "chain.h"
#include "ledger_rel.h"
#include "log_verify_rows.h"

/* what a leaf or the queue says of one (seq, row hash) of a table */
#define SR_LEAF		0x01		/* a leaf of this table holds it */
#define SR_PENDING	0x02		/* the queue holds it */
#define SR_MATCHED	0x04		/* a row of the table has it and hashes to it */
#define SR_DUP		0x08		/* more than one leaf of this table holds it */

typedef struct SealedKey
{
	int64		seq;
	uint8		hash[HASH256_LEN];
} SealedKey;

/* keys are compared and hashed as bytes: no padding may hide in one */
StaticAssertDecl(sizeof(SealedKey) == sizeof(int64) + HASH256_LEN, "SealedKey has padding");

typedef struct SealedEntry
{
	SealedKey	key;
	int64		first;			/* SR_LEAF: the first leaf holding it, in LeafRef order */
	uint8		flags;
	char		status;			/* simplehash's */
} SealedEntry;

static inline uint32
sealed_key_hash(const SealedKey *k)
{
	return hash_bytes((const unsigned char *) k, sizeof(SealedKey));
}

#define SH_PREFIX sealedset
#define SH_ELEMENT_TYPE SealedEntry
#define SH_KEY_TYPE SealedKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) sealed_key_hash(&(k))
#define SH_EQUAL(tb, a, b) (memcmp(&(a), &(b), sizeof(SealedKey)) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#define SH_USE_NONDEFAULT_ALLOCATOR
#include "lib/simplehash.h"

/*
 * The set's buckets as simplehash allocates them (zeroed, in its context,
 * past 1 GB allowed), in huge pages: sized up front for 1M leaves they are
 * ~100 MB, and first touching them a 4 kB page at a time was about a tenth
 * of verify_log(true)'s CPU time (kernel page faults, perf, v10).
 */
static inline void *
sealedset_allocate(sealedset_hash *tb, Size size)
{
	void	   *p = bl_advise_huge(MemoryContextAllocExtended(tb->ctx, size, MCXT_ALLOC_HUGE), size);

	memset(p, 0, size);
	return p;
}

static inline void
sealedset_free(sealedset_hash *tb, void *pointer)
{
	pfree(pointer);
}

/* a leaf of the table, in log_leaf's heap order */
typedef struct LeafRef
{
	int64		leaf_index;
	SealedKey	key;
	bool		matched;		/* a row met at this leaf by the cursor hashes to it */
} LeafRef;

/*
 * What verify_table_rows() knows of the table's leaves and queue entries:
 * the leaves and queue entries as read, and the set of their keys once
 * built.  Whether a key is matched is kept in its entry (SR_MATCHED) and in
 * the LeafRef where the cursor matched it; a key is matched if either says so.
 */
typedef struct Sealed
{
	MemoryContext cxt;
	LeafRef    *refs;			/* the table's, in its LeafTables */
	int64		nrefs;
	SealedKey  *queued;			/* queue entries (queue_whole only) */
	int64		nqueued;
	uint32		size;			/* the set's first size */
	sealedset_hash *set;		/* NULL until a row does not meet its leaf */
	const char *tbl;
	bool		queue_unread;	/* the queue is to be read when the set is built */
	bool		dups;			/* some key is held by more than one leaf */
} Sealed;

static void read_queue(const char *tbl, Sealed *s, bool check_only);

/* Build the set from the leaves and queue entries, with what is matched so far. */
static void
sealed_build(Sealed *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->cxt);

	if (s->queue_unread)
	{
		read_queue(s->tbl, s, false);
		s->queue_unread = false;
	}

	s->set = sealedset_create(s->cxt, Max(s->size, (uint32) Min(s->nrefs + s->nqueued, 2097152)), NULL);
	for (int64 i = 0; i < s->nrefs; i++)
	{
		bool		found;
		SealedEntry *e = sealedset_insert(s->set, s->refs[i].key, &found);

		if (!found)
		{
			e->flags = SR_LEAF;
			e->first = i;
		}
		else
		{
			/* only leaves are in yet */
			e->flags |= SR_DUP;
			s->dups = true;
		}
		if (s->refs[i].matched)
			e->flags |= SR_MATCHED;
		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int64 i = 0; i < s->nqueued; i++)
	{
		bool		found;
		SealedEntry *e = sealedset_insert(s->set, s->queued[i], &found);

		if (!found)
			e->flags = 0;
		e->flags |= SR_PENDING;
	}
	MemoryContextSwitchTo(old);
}

/* whether a row with e's key hashed to it, by the entry or its first leaf */
static inline bool
sealed_matched(const Sealed *s, const SealedEntry *e)
{
	return (e->flags & SR_MATCHED) || ((e->flags & SR_LEAF) && e->first >= 0 && s->refs[e->first].matched);
}

/* a row in no log, reported in (ledger_origin, ledger_seq) order */
typedef struct StrayRow
{
	text	   *origin;
	bool		seq_null;
	int64		seq;
} StrayRow;

static Oid	stray_collation;

static int
leafref_cmp(const void *a, const void *b)
{
	int64		x = ((const LeafRef *) a)->leaf_index;
	int64		y = ((const LeafRef *) b)->leaf_index;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* ORDER BY t.ledger_origin, t.ledger_seq: the column's collation, NULLs last */
static int
strayrow_cmp(const void *a, const void *b)
{
	const StrayRow *x = a;
	const StrayRow *y = b;
	int			c = varstr_cmp(VARDATA_ANY(x->origin), VARSIZE_ANY_EXHDR(x->origin),
							   VARDATA_ANY(y->origin), VARSIZE_ANY_EXHDR(y->origin),
							   stray_collation);

	if (c != 0)
		return c;
	if (x->seq_null || y->seq_null)
		return (int) x->seq_null - (int) y->seq_null;
	return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

static bool
text_is(Datum d, const char *s, size_t len)
{
	text	   *t = DatumGetTextPP(d);

	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/*
 * Read log_pending whole under the statement's snapshot and list the
 * (seq, row hash) of each entry naming tbl in s->queued.  With check_only,
 * only check the privilege and the columns, and keep the lock until the read.
 */
static void
read_queue(const char *tbl, Sealed *s, bool check_only)
{
	static const char *const pcols[3] = {"tbl", "seq", "row_hash"};
	Relation	rel = table_open(log_relid("log_pending"), AccessShareLock);
	TupleDesc	d = RelationGetDescr(rel);
	TableScanDesc scan;
	HeapTuple	t;
	Oid			types[3] = {TEXTOID, INT8OID, hash256_type_oid()};
	int			a[3];			/* a[0] tbl, a[1] seq, a[2] row_hash */
	Datum	   *v = palloc(sizeof(Datum) * d->natts);
	bool	   *isnull = palloc(sizeof(bool) * d->natts);
	size_t		tbllen = strlen(tbl);
	int64		cap = 0;
	int64		rows = 0;

	/* the statements read it with the caller's privileges: keep that */
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
	(void) log_columns(rel, pcols, types, 3, a);
	if (check_only)
	{
		table_close(rel, NoLock);
		pfree(v);
		pfree(isnull);
		return;
	}
	scan = bl_table_beginscan(rel, GetActiveSnapshot());
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		SealedKey	k;

		if ((++rows % 20000) == 0)
			CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(t, d, v, isnull);
		/* a NULL matches nothing in the statements' joins */
		if (isnull[a[0]] || isnull[a[1]] || isnull[a[2]] || !text_is(v[a[0]], tbl, tbllen))
			continue;
		k.seq = DatumGetInt64(v[a[1]]);
		memcpy(k.hash, DatumGetHash256P(v[a[2]])->bytes, HASH256_LEN);
		if (s->nqueued == cap)
		{
			cap = Max(1024, cap * 2);
			s->queued = s->queued ? repalloc_huge(s->queued, sizeof(SealedKey) * cap)
				: palloc_extended(sizeof(SealedKey) * cap, MCXT_ALLOC_HUGE);
		}
		s->queued[s->nqueued++] = k;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(v);
	pfree(isnull);
}

/* the origins of the joined members (consortium_member is small) */
static bool
is_member_origin(text **members, int nmembers, Datum origin)
{
	text	   *o = DatumGetTextPP(origin);

	for (int i = 0; i < nmembers; i++)
		if (VARSIZE_ANY_EXHDR(members[i]) == VARSIZE_ANY_EXHDR(o) &&
			memcmp(VARDATA_ANY(members[i]), VARDATA_ANY(o), VARSIZE_ANY_EXHDR(o)) == 0)
			return true;
	return false;
}

static text **
member_origins(int *n)
{
	Relation	rel = table_open(log_relid("consortium_member"), AccessShareLock);
	TupleDesc	d = RelationGetDescr(rel);
	TableScanDesc scan = bl_table_beginscan(rel, GetActiveSnapshot());
	HeapTuple	t;
	int			attno = 0;
	int			cap = 16;
	text	  **out = palloc(sizeof(text *) * cap);

	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, RelationGetRelationName(rel));
	for (int a = 0; a < d->natts; a++)
		if (!TupleDescAttr(d, a)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(d, a)->attname), "origin") == 0 &&
			TupleDescAttr(d, a)->atttypid == TEXTOID)
			attno = a + 1;
	if (attno == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("column \"origin\" of \"consortium_member\" is missing or has another type"),
				 errhint("Reinstall the extension's tables from a backup.")));
	*n = 0;
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		o = heap_getattr(t, attno, d, &isnull);

		if (isnull)
			continue;
		if (*n == cap)
		{
			cap *= 2;
			out = repalloc(out, sizeof(text *) * cap);
		}
		out[(*n)++] = DatumGetTextPCopy(o);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return out;
}

/*
 * The set's first size: about one entry per row of the table, whose leaves
 * and queue entries it will hold.  Growing it from a small size rehashed
 * every entry about twice and zeroed fresh memory at each doubling, a fifth
 * of verify_log(true)'s CPU time (perf, docs/benchmarks.md, 0.7.0).  The
 * estimate only sizes memory, never decides anything: too small and the set
 * grows as before; it is capped so that a stale or wrong estimate cannot ask
 * for more than 4M slots (about 200 MB) up front.
 */
static uint32
sealed_set_size(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	double		tuples = rel->rd_rel->reltuples;
	BlockNumber pages;

	/* never analyzed (-1) or empty when analyzed: guess from the size on disk */
	if (tuples <= 0)
	{
		pages = RelationGetNumberOfBlocks(rel);
		tuples = (double) pages * 64;
	}
	table_close(rel, AccessShareLock);
	/* sealedset_create() adds simplehash's 10% headroom and rounds up to a power of 2 */
	return (uint32) Max(1024.0, Min(tuples, 2097152.0));
}

/*
 * LeafTables: the leaves of each table log_leaf names, in log_leaf's heap
 * order, as verify_leaves() reads them (0.14.0).  A table is found by its
 * name as log_leaf spells it (the exact bytes, as the statements' equality
 * of text did): the last table asked for first, since seal() writes a
 * table's rows in runs, else a small hash set of the names.
 */
typedef struct TableLeaves
{
	char	   *name;			/* log_leaf.tbl, NUL-terminated */
	int			len;
	LeafRef    *refs;
	int64		nrefs;
	int64		cap;
	void	   *block;			/* what to pfree for refs (bl_alloc_huge_pages()) */
	bool		checked;		/* a verify_table_rows() has set matched flags */
} TableLeaves;

typedef struct TblName
{
	const char *s;
	int			len;
} TblName;

typedef struct TblEntry
{
	TblName		key;			/* points at its TableLeaves' name */
	int			idx;			/* in LeafTables.tables */
	char		status;			/* simplehash's */
} TblEntry;

#define SH_PREFIX tblset
#define SH_ELEMENT_TYPE TblEntry
#define SH_KEY_TYPE TblName
#define SH_KEY key
#define SH_HASH_KEY(tb, k) hash_bytes((const unsigned char *) (k).s, (k).len)
#define SH_EQUAL(tb, a, b) ((a).len == (b).len && memcmp((a).s, (b).s, (a).len) == 0)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

struct LeafTables
{
	MemoryContext cxt;			/* everything below, freed with it */
	TableLeaves *tables;
	int			ntables;
	int			captables;
	int			last;			/* the table of the last leaf added, or -1 */
	tblset_hash *set;
	int64		first_cap;		/* the first table's room, from log_leaf's row estimate */
};

/* Start gathering, in the current memory context; reltuples: log_leaf's estimate. */
LeafTables *
leaf_tables_create(double reltuples)
{
	LeafTables *lt = palloc0(sizeof(LeafTables));

	lt->cxt = CurrentMemoryContext;
	lt->captables = 4;
	lt->tables = palloc(sizeof(TableLeaves) * lt->captables);
	lt->last = -1;
	lt->set = tblset_create(lt->cxt, 16, NULL);

	/*
	 * Sized from the estimate, in 2 MB pages: grown by repalloc from 1,024
	 * in 4 kB pages, the array of 1M leaves (56 MB with its copies) took
	 * some 13,700 of the 21,500 page faults of a warm call (issue 15,
	 * 0.13.0).  Capped, so that a wrong estimate cannot ask for more than
	 * 4M leaves (224 MB) up front; the estimate decides nothing else.
	 */
	lt->first_cap = (int64) Max(1024.0, Min(reltuples + reltuples / 8, 4194304.0));
	return lt;
}

/*
 * The table the leaves name tbl (len bytes), or NULL; with add, a new entry
 * for it instead (the caller has found none).  Names are copied: tbl may
 * point into a buffer page or a detoasted copy the caller frees.
 */
static TableLeaves *
leaf_tables_find(LeafTables *lt, const char *tbl, int len, bool add)
{
	TblName		k = {tbl, len};
	TblEntry   *e;
	bool		found;
	TableLeaves *tl;

	if (!add)
	{
		e = tblset_lookup(lt->set, k);
		return e ? &lt->tables[e->idx] : NULL;
	}
	if (lt->ntables == lt->captables)
	{
		lt->captables *= 2;
		lt->tables = repalloc(lt->tables, sizeof(TableLeaves) * lt->captables);
	}
	tl = &lt->tables[lt->ntables];
	tl->name = palloc(len + 1);
	memcpy(tl->name, tbl, len);
	tl->name[len] = '\0';
	tl->len = len;
	tl->refs = NULL;
	tl->nrefs = 0;
	tl->cap = 0;
	tl->block = NULL;
	tl->checked = false;
	k.s = tl->name;
	e = tblset_insert(lt->set, k, &found);
	Assert(!found);
	e->idx = lt->ntables++;
	return tl;
}

/* One leaf (leaf_index, tbl, seq, row_hash) of log_leaf, in its heap order. */
void
leaf_tables_add(LeafTables *lt, const char *tbl, int len, int64 leaf_index, int64 seq,
				const uint8 *row_hash)
{
	TableLeaves *tl = NULL;
	LeafRef    *r;

	if (lt->last >= 0 && lt->tables[lt->last].len == len &&
		memcmp(lt->tables[lt->last].name, tbl, len) == 0)
		tl = &lt->tables[lt->last];
	else
	{
		MemoryContext old = MemoryContextSwitchTo(lt->cxt);
		TblName		k = {tbl, len};
		TblEntry   *e = tblset_lookup(lt->set, k);

		tl = e ? &lt->tables[e->idx] : leaf_tables_find(lt, tbl, len, true);
		lt->last = tl - lt->tables;
		MemoryContextSwitchTo(old);
	}
	if (tl->nrefs == tl->cap)
	{
		MemoryContext old = MemoryContextSwitchTo(lt->cxt);
		int64		newcap = tl->cap > 0 ? tl->cap * 2 : lt->ntables == 1 ? lt->first_cap : 1024;
		void	   *block;
		LeafRef    *refs = bl_alloc_huge_pages(sizeof(LeafRef) * newcap, &block);

		if (tl->nrefs > 0)
			memcpy(refs, tl->refs, sizeof(LeafRef) * tl->nrefs);
		if (tl->block)
			pfree(tl->block);
		tl->refs = refs;
		tl->block = block;
		tl->cap = newcap;
		MemoryContextSwitchTo(old);
	}
	r = &tl->refs[tl->nrefs++];
	r->leaf_index = leaf_index;
	r->key.seq = seq;
	memcpy(r->key.hash, row_hash, HASH256_LEN);
	r->matched = false;
}

/* how many tables the leaves name, and the i-th's name as log_leaf spells it */
int
leaf_tables_count(const LeafTables *lt)
{
	return lt->ntables;
}

const char *
leaf_tables_name(const LeafTables *lt, int i)
{
	Assert(i >= 0 && i < lt->ntables);
	return lt->tables[i].name;
}

/*
 * Check one ledger table (relid, named tbl in the leaves): each of its leaves
 * must find a row with the leaf's seq and hash that still hashes to it
 * ("sealed_row_changed", in leaf_index order), and each row of the local
 * origin (or the empty one) must be sealed or queued when the queue is whole,
 * each row of another origin must be a joined member's ("row_not_in_log", in
 * (origin, seq) order).  The caller has checked privileges and RLS; the
 * leaves are lt's, gathered by verify_leaves() under the same snapshot, and
 * this marks which of them a row matched.
 */
void
verify_table_rows(LeafTables *lt, Oid relid, const char *tbl, bool queue_whole, const char *local,
				  Tuplestorestate *ts, TupleDesc desc,
				  void (*put) (Tuplestorestate *, TupleDesc, const char *, int64, const char *))
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "battledger verify_log rows",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	MemoryContext rowcxt = AllocSetContextCreate(work, "battledger verify_log row",
												 ALLOCSET_DEFAULT_SIZES);
	Sealed		sl = {0};
	TableLeaves *tl = leaf_tables_find(lt, tbl, strlen(tbl), false);
	int64		cursor = 0;		/* the leaf the next row is expected at */
	LeafRef    *changed = NULL;
	int64		nchanged = 0;
	int64	   *dups = NULL;	/* pairs: a leaf sealing a row, the earlier leaf that did */
	int64		ndups = 0;
	bool		merged = false; /* the set holds every match the cursor made */
	StrayRow   *strays = NULL;
	int64		nstrays = 0,
				capstrays = 0;
	text	  **members;
	int			nmembers;
	size_t		local_len = strlen(local);
	Relation	rel;
	LedgerRel  *lr;
	TupleDesc	d;
	TableScanDesc scan;
	HeapTuple	t;
	Datum	   *v;
	bool	   *isnull;
	StringInfoData buf;
	int64		rows = 0;

	sl.cxt = work;
	sl.size = sealed_set_size(relid);
	sl.tbl = tbl;
	/* a ledger table that no leaf names has no leaves to meet */
	if (tl)
	{
		/*
		 * Two ledger tables can share a name as the leaves spell it
		 * (schema "a.b", table "c" and schema "a", table "b.c"): each is
		 * checked against the leaves afresh, as when each read log_leaf.
		 */
		if (tl->checked)
			for (int64 i = 0; i < tl->nrefs; i++)
				tl->refs[i].matched = false;
		tl->checked = true;
		sl.refs = tl->refs;
		sl.nrefs = tl->nrefs;
	}

	/*
	 * The queue matters only to a row that does not meet its leaf: it is
	 * read, under the same snapshot, when the set is built.  After a seal()
	 * it holds no row but may still span the pages of every row it held
	 * (120 MB after sealing 1M rows, until a vacuum truncates it).
	 */
	if (queue_whole)
	{
		read_queue(tbl, &sl, true);
		sl.queue_unread = true;
	}
	members = member_origins(&nmembers);

	rel = table_open(relid, AccessShareLock);
	lr = ledger_rel_get(rel);
	d = RelationGetDescr(rel);
	stray_collation = TupleDescAttr(d, lr->origin_attno - 1)->attcollation;
	v = palloc(sizeof(Datum) * d->natts);
	isnull = palloc(sizeof(bool) * d->natts);
	initStringInfo(&buf);
	/* a heap scan reads this relation only: "ONLY", rows of a child table are not the ledger's */
	scan = bl_table_beginscan(rel, GetActiveSnapshot());
	while ((t = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		int			so = lr->seq_attno - 1,
					po = lr->prev_attno - 1,
					ho = lr->hash_attno - 1,
					oo = lr->origin_attno - 1;
		bool		leaf = false;	/* a leaf holds the row's (seq, hash) */
		bool		held = false;	/* a leaf or the queue does */
		bool		stray = false;

		if ((++rows % 10000) == 0)
			CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(t, d, v, isnull);
		if (!isnull[so] && !isnull[ho])
		{
			SealedKey	k;
			LeafRef    *r = NULL;	/* the leaf met by the cursor */
			SealedEntry *e = NULL;	/* or the key's entry in the set */

			memset(&k, 0, sizeof(k));
			k.seq = DatumGetInt64(v[so]);
			memcpy(k.hash, DatumGetHash256P(v[ho])->bytes, HASH256_LEN);
			if (cursor < sl.nrefs && memcmp(&sl.refs[cursor].key, &k, sizeof(k)) == 0)
			{
				r = &sl.refs[cursor++];
				leaf = held = true;
			}
			else
			{
				if (sl.set == NULL)
					sealed_build(&sl);
				e = sealedset_lookup(sl.set, k);
				if (e)
				{
					held = (e->flags & (SR_LEAF | SR_PENDING)) != 0;
					leaf = (e->flags & SR_LEAF) != 0;
					if (leaf && e->first >= 0)
						cursor = e->first + 1;
				}
			}

			/* a leaf names this row: does it still hash to its ledger_hash? */
			if (leaf && !isnull[po] && (r ? !r->matched : !sealed_matched(&sl, e)))
			{
				uint8		computed[HASH256_LEN];
				MemoryContext o2 = MemoryContextSwitchTo(rowcxt);

				resetStringInfo(&buf);
				row_encode(lr->encoder, v, isnull, &buf);
				chain_hash(DatumGetHash256P(v[po])->bytes, k.seq, buf.data, buf.len, computed);
				if (memcmp(computed, k.hash, HASH256_LEN) == 0)
				{
					if (r)
						r->matched = true;
					else
					{
						e->flags |= SR_MATCHED;
						if (e->first >= 0)
							sl.refs[e->first].matched = true;
					}
				}
				MemoryContextSwitchTo(o2);
				MemoryContextReset(rowcxt);
			}
		}

		/* rows added behind the guards */
		if (!isnull[oo])
		{
			bool		mine = text_is(v[oo], local, local_len) || text_is(v[oo], "", 0);

			if (mine)
				stray = queue_whole && !held;
			else
				stray = !is_member_origin(members, nmembers, v[oo]);
		}
		if (stray)
		{
			if (nstrays == capstrays)
			{
				capstrays = Max(16, capstrays * 2);
				strays = strays ? repalloc_huge(strays, sizeof(StrayRow) * capstrays)
					: palloc_extended(sizeof(StrayRow) * capstrays, MCXT_ALLOC_HUGE);
			}
			strays[nstrays].origin = DatumGetTextPCopy(v[oo]);
			strays[nstrays].seq_null = isnull[so];
			strays[nstrays].seq = isnull[so] ? 0 : DatumGetInt64(v[so]);
			nstrays++;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	/*
	 * The leaves no row hashed to.  A leaf the cursor did not match may hold
	 * a key matched elsewhere: at another leaf holding the same key, or in
	 * the set; the set decides, with every match the cursor made in it.
	 */
	for (int64 i = 0; i < sl.nrefs; i++)
		if (!sl.refs[i].matched)
		{
			if (sl.set == NULL)
			{
				sealed_build(&sl);	/* takes in the cursor's matches */
				merged = true;
			}
			else if (sl.dups && !merged)
			{
				merged = true;
				/* matches the cursor made after the set was built, at leaves sharing a key */
				for (int64 j = 0; j < sl.nrefs; j++)
					if (sl.refs[j].matched)
						sealedset_lookup(sl.set, sl.refs[j].key)->flags |= SR_MATCHED;
			}
			if (!sealed_matched(&sl, sealedset_lookup(sl.set, sl.refs[i].key)))
			{
				if (changed == NULL)
					changed = palloc_extended(sizeof(LeafRef) * (sl.nrefs - i), MCXT_ALLOC_HUGE);
				changed[nchanged++] = sl.refs[i];
			}
		}

	/*
	 * A row sealed twice: a later leaf holds the (seq, hash) of an earlier
	 * one (a queue entry duplicated behind the guards is sealed twice, and
	 * the log then counts a row that exists once: peers comparing leaves
	 * with rows would report a row missing).  Leaves sharing a key are
	 * known once the set is built; it is not built only when the cursor met
	 * every leaf with a row of its own, in order.
	 */
	if (sl.set && sl.dups)
		for (int64 i = 0; i < sl.nrefs; i++)
		{
			SealedEntry *e = sealedset_lookup(sl.set, sl.refs[i].key);

			if (e && (e->flags & SR_DUP) && e->first != i)
			{
				if (dups == NULL)
					dups = palloc_extended(sizeof(int64) * 2 * (sl.nrefs - i), MCXT_ALLOC_HUGE);
				dups[2 * ndups] = sl.refs[i].leaf_index;
				dups[2 * ndups + 1] = sl.refs[e->first].leaf_index;
				ndups++;
			}
		}

	/* ORDER BY l.leaf_index */
	if (nchanged > 1)
		qsort(changed, nchanged, sizeof(LeafRef), leafref_cmp);
	MemoryContextSwitchTo(old);
	for (int64 i = 0; i < nchanged; i++)
		put(ts, desc, "sealed_row_changed", changed[i].leaf_index,
			psprintf("The row of \"%s\" sealed in this leaf is missing or no longer hashes to its sealed hash.",
					 tbl));
	for (int64 i = 0; i < ndups; i++)
		put(ts, desc, "duplicate_leaf", dups[2 * i],
			psprintf("The row of \"%s\" sealed in this leaf is sealed in leaf %lld too: the log holds it twice.",
					 tbl, (long long) dups[2 * i + 1]));
	if (nstrays > 1)
		qsort(strays, nstrays, sizeof(StrayRow), strayrow_cmp);
	for (int64 i = 0; i < nstrays; i++)
		put(ts, desc, "row_not_in_log", strays[i].seq,
			psprintf("A row of \"%s\" (origin \"%s\", position given as ref) is in no log: not sealed nor queued here, nor of a joined member; it was not written through the chain trigger or the arrival check.",
					 tbl, text_to_cstring(strays[i].origin)));
	MemoryContextDelete(work);
}

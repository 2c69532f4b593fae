package node

// Redis 7 error texts, shared by every command family.
const (
	ErrSyntax       = "ERR syntax error"
	ErrWrongType    = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrNotInt       = "ERR value is not an integer or out of range"
	ErrNotFloat     = "ERR value is not a valid float"
	ErrNoSuchKey    = "ERR no such key"
	ErrOutOfRange   = "ERR index out of range"
	ErrOverflow     = "ERR increment or decrement would overflow"
	ErrNoAuth       = "NOAUTH Authentication required."
	ErrInvalidPass  = "WRONGPASS invalid username-password pair or user is disabled."
	ErrLoading      = "LOADING Redis is loading the dataset in memory"
	ErrOOM          = "OOM command not allowed when used memory > 'maxmemory'."
	ErrCrossSlot    = "CROSSSLOT Keys in request don't hash to the same slot"
	ErrExecAbort    = "EXECABORT Transaction discarded because of previous errors."
	ErrNestedMulti  = "ERR MULTI calls can not be nested"
	ErrExecNoMulti  = "ERR EXEC without MULTI"
	ErrDiscardNoMul = "ERR DISCARD without MULTI"
	ErrWatchInMulti = "ERR WATCH inside MULTI is not allowed"
	ErrTimeout      = "ERR timeout is not a float or out of range"
	ErrTimeoutNeg   = "ERR timeout is negative"
	ErrDBIndex      = "ERR DB index is out of range"
	ErrMisconf      = "MISCONF Errors writing to the AOF file"
	ErrBusyKey      = "BUSYKEY Target key name already exists."
)

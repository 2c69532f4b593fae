package rdb

// Type is an RDB object type byte.
type Type byte

// RDB object types (rdb.h).
const (
	TypeString           Type = 0
	TypeList             Type = 1
	TypeSet              Type = 2
	TypeZSet             Type = 3
	TypeHash             Type = 4
	TypeZSet2            Type = 5
	TypeModule           Type = 6
	TypeModule2          Type = 7
	TypeHashZipmap       Type = 9
	TypeListZiplist      Type = 10
	TypeSetIntset        Type = 11
	TypeZSetZiplist      Type = 12
	TypeHashZiplist      Type = 13
	TypeListQuicklist    Type = 14
	TypeStreamListpacks  Type = 15
	TypeHashListpack     Type = 16
	TypeZSetListpack     Type = 17
	TypeListQuicklist2   Type = 18
	TypeStreamListpacks2 Type = 19
	TypeSetListpack      Type = 20
	TypeStreamListpacks3 Type = 21
)

// Versions: Version is what the encoder writes (Redis 7.0's RDB 10, so
// Redis 7.0 RESTOREs slotvault's payloads); MaxVersion is the newest the
// decoder accepts (Redis 7.2's RDB 11).
const (
	Version    = 10
	MaxVersion = 11
)

package accel

import "math"

// Coefficients of math.Sincos (Cephes), copied so that sincos can give
// math.Sincos's results bit for bit.
var (
	sinCoef = [...]float64{
		1.58962301576546568060e-10, // 0x3de5d8fd1fd19ccd
		-2.50507477628578072866e-8, // 0xbe5ae5e5a9291f5d
		2.75573136213857245213e-6,  // 0x3ec71de3567d48a1
		-1.98412698295895385996e-4, // 0xbf2a01a019bfdf03
		8.33333333332211858878e-3,  // 0x3f8111111110f7d0
		-1.66666666666666307295e-1, // 0xbfc5555555555548
	}
	cosCoef = [...]float64{
		-1.13585365213876817300e-11, // 0xbda8fa49a0861a9b
		2.08757008419747316778e-9,   // 0x3e21ee9d7b4e3f05
		-2.75573141792967388112e-7,  // 0xbe927e4f7eac4bc6
		2.48015872888517045348e-5,   // 0x3efa01a019c844f5
		-1.38888888888730564116e-3,  // 0xbf56c16c16c14f91
		4.16666666666665929218e-2,   // 0x3fa555555555554b
	}
)

const (
	// sincosReduceMax is math's threshold for its Payne-Hanek reduction.
	sincosReduceMax = 1 << 29
	// π/4 split into three parts, as math's Cody-Waite reduction.
	pi4a = 7.85398125648498535156e-1
	pi4b = 3.77489470793079817668e-8
	pi4c = 2.69515142907905952645e-15
)

// sincos returns math.Sincos(x), bit for bit, without the data-dependent
// branches of math.Sincos's octant handling (they mispredict when many
// waves interleave): the octant's swap and sign changes are applied with
// integer masks. Arguments of 2²⁹ or more in magnitude, zeros, infinities
// and NaN go to math.Sincos.
func sincos(x float64) (sin, cos float64) {
	ax := math.Abs(x)
	if !(ax < sincosReduceMax) || x == 0 {
		return math.Sincos(x)
	}
	j := int64(ax * (4 / math.Pi)) // ax < 2²⁹: exact as math's uint64 conversion
	j += j & 1                     // map zeros to origin
	y := float64(j)
	z := ((ax - y*pi4a) - y*pi4b) - y*pi4c
	q := uint64(j>>1) & 3 // quadrant
	zz := z * z
	c := 1.0 - 0.5*zz + zz*zz*((((((cosCoef[0]*zz)+cosCoef[1])*zz+cosCoef[2])*zz+cosCoef[3])*zz+cosCoef[4])*zz+cosCoef[5])
	s := z + z*zz*((((((sinCoef[0]*zz)+sinCoef[1])*zz+sinCoef[2])*zz+sinCoef[3])*zz+sinCoef[4])*zz+sinCoef[5])
	swap := -(q & 1) // all ones in odd quadrants
	sb, cb := math.Float64bits(s), math.Float64bits(c)
	rs := (cb & swap) | (sb &^ swap)
	rc := (sb & swap) | (cb &^ swap)
	half := (q >> 1) << 63
	rs ^= half ^ (math.Float64bits(x) & (1 << 63))
	rc ^= half ^ ((q & 1) << 63)
	return math.Float64frombits(rs), math.Float64frombits(rc)
}

// sincosBlock sets s[i], c[i] = math.Sincos(x[i]) for every i, bit for
// bit, in one loop without calls (but for the arguments that sincos hands
// to math.Sincos). s may be x. Its body repeats sincos's on purpose: the
// shared part is too large for the inliner, and a call per value would
// cost the block its speed.
func sincosBlock(x, s, c []float64) {
	s, c = s[:len(x)], c[:len(x)]
	for i, v := range x {
		ax := math.Abs(v)
		if !(ax < sincosReduceMax) || v == 0 {
			s[i], c[i] = math.Sincos(v)
			continue
		}
		j := int64(ax * (4 / math.Pi))
		j += j & 1
		y := float64(j)
		z := ((ax - y*pi4a) - y*pi4b) - y*pi4c
		q := uint64(j>>1) & 3
		zz := z * z
		cv := 1.0 - 0.5*zz + zz*zz*((((((cosCoef[0]*zz)+cosCoef[1])*zz+cosCoef[2])*zz+cosCoef[3])*zz+cosCoef[4])*zz+cosCoef[5])
		sv := z + z*zz*((((((sinCoef[0]*zz)+sinCoef[1])*zz+sinCoef[2])*zz+sinCoef[3])*zz+sinCoef[4])*zz+sinCoef[5])
		swap := -(q & 1)
		sb, cb := math.Float64bits(sv), math.Float64bits(cv)
		rs := (cb & swap) | (sb &^ swap)
		rc := (sb & swap) | (cb &^ swap)
		half := (q >> 1) << 63
		rs ^= half ^ (math.Float64bits(v) & (1 << 63))
		rc ^= half ^ ((q & 1) << 63)
		s[i], c[i] = math.Float64frombits(rs), math.Float64frombits(rc)
	}
}

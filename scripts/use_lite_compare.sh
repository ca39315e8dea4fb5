#!/bin/bash
# use_lite_compare.sh: obs + lstsq against l2norm + lstsq on held-out batches of real transformer
# layers (README "Compensation"). For each layer folder that scripts/use_lite_layers.mjs wrote
# (W.npy, b.npy, fit_*.npy, held_*.npy), it scores the input channels by l2norm and by obs on the
# fit batches, then evaluates both score sets on the held-out batches at ratios 0.25 and 0.5 with
# no repair and with lstsq fitted on the fit batches (--fit), and prints one table row per layer
# and ratio. The JSON of each sweep and its stderr (the few-fit-tokens warning) stay in the folder.
#
#	scripts/use_lite_compare.sh [OUT]      # OUT defaults to /work/realmodel/out; run from the repo root
set -euo pipefail

out=${1:-/work/realmodel/out}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/chanprune" ./cmd/chanprune
cp=$bin/chanprune

printf '| layer | shape [out, in] | fit tokens | ratio | l2norm + none | l2norm + lstsq | obs + lstsq | obs + lstsq vs l2norm + lstsq |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- |\n'
for dir in "$out"/*/; do
	dir=${dir%/}
	layer=$(basename "$dir")
	fits=("$dir"/fit_*.npy)
	fitflags=()
	for f in "${fits[@]}"; do fitflags+=(--fit "$f"); done

	"$cp" score --quiet --method l2norm --weight "$dir/W.npy" --bias "$dir/b.npy" --out "$dir/l2norm.npy" "${fits[@]}" >&2
	"$cp" score --quiet --method obs --weight "$dir/W.npy" --bias "$dir/b.npy" --out "$dir/obs.npy" "${fits[@]}" >&2
	"$cp" sweep --quiet --format json --weight "$dir/W.npy" --bias "$dir/b.npy" \
		--scores l2norm="$dir/l2norm.npy" --scores obs="$dir/obs.npy" --ratios 0.25,0.5 \
		--compensate none,lstsq "${fitflags[@]}" "$dir"/held_*.npy \
		>"$dir/sweep.json" 2>"$dir/sweep.stderr"
	sed "s|^|$layer: |" "$dir/sweep.stderr" >&2

	shape=$(head -c 128 "$dir/W.npy" | grep -ao "'shape': ([0-9, ]*)" | sed "s/.*(\(.*\))/[\1]/")
	jq -r --arg layer "$layer" '
		def rmse(s; r; c): map(select(.scores == s and .ratio == r and .compensation == c))[0].rmse;
		. as $p | ($p | map(.ratio) | unique)[] as $r |
		($p | map(select(.compensation == "lstsq"))[0].fit_tokens) as $ft |
		[rmse("l2norm"; $r; "none"), rmse("l2norm"; $r; "lstsq"), rmse("obs"; $r; "lstsq")] as $v |
		"| \($layer) | SHAPE | \($ft) | \($r) | \($v[0] * 1e4 | round / 1e4) | \($v[1] * 1e4 | round / 1e4) | \($v[2] * 1e4 | round / 1e4) | \((1 - $v[2] / $v[1]) * 1000 | round / 10)% lower |"
	' "$dir/sweep.json" | sed "s/SHAPE/$shape/"
done

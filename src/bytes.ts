const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte count in the largest binary unit it reaches: 1536 -> { value: 1.5, unit: 'KiB' }. */
export function binaryScale(bytes: number): { value: number; unit: (typeof binaryUnits)[number] } {
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < binaryUnits.length - 1) {
    value /= 1024;
    index += 1;
  }
  return { value, unit: binaryUnits[index]! };
}

/** "512 B", "1.5 KiB", "3.2 MiB": one notation for every size a person reads. */
export function formatBytes(bytes: number): string {
  let { value, unit } = binaryScale(bytes);
  // 1048570 bytes is "1.0 MiB", not "1024.0 KiB".
  if (unit !== 'B' && unit !== 'TiB' && value.toFixed(1) === '1024.0')
    ({ value, unit } = binaryScale(Math.ceil(bytes / 1024) * 1024));
  return unit === 'B' ? `${value} B` : `${value.toFixed(1)} ${unit}`;
}

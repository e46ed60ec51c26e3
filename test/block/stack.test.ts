// The composable block stack: LayerDevice forwards every member of the block
// device contract to the device below, a layer overrides only what it changes,
// and buildStack puts layers on a base device bottom first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AllocationExtent, BlockDevice, UnmapRange, WriteOptions } from '../../src/block/device.js';
import { LayerDevice } from '../../src/block/layer-device.js';
import { buildStack } from '../../src/block/stack.js';
import type { Layer } from '../../src/block/stack.js';

const BS = 512;

/** A device in memory that records every call it gets, with its arguments. */
class MemoryDevice implements BlockDevice {
  readonly calls: unknown[][] = [];
  readonly blockSize = BS;
  readonly optimalIoSize = 4096;
  readOnly = false;
  blockCount: number;
  private data: Buffer;
  readonly writeAtomic?: (lba: number, buf: Buffer, opts?: WriteOptions) => Promise<void>;

  constructor(
    readonly name: string,
    blocks: number,
    atomic: boolean,
  ) {
    this.blockCount = blocks;
    this.data = Buffer.alloc(blocks * BS);
    if (atomic) {
      this.writeAtomic = async (lba, buf, opts) => {
        this.calls.push(['writeAtomic', lba, buf.length, opts]);
        buf.copy(this.data, lba * BS);
      };
    }
  }

  grow(blocks: number): void {
    this.data = Buffer.concat([this.data, Buffer.alloc((blocks - this.blockCount) * BS)]);
    this.blockCount = blocks;
  }

  async read(lba: number, blocks: number): Promise<Buffer> {
    this.calls.push(['read', lba, blocks]);
    return Buffer.from(this.data.subarray(lba * BS, (lba + blocks) * BS));
  }
  async write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.calls.push(['write', lba, buf.length, opts]);
    buf.copy(this.data, lba * BS);
  }
  async flush(): Promise<void> {
    this.calls.push(['flush']);
  }
  async unmap(ranges: UnmapRange[]): Promise<void> {
    this.calls.push(['unmap', ranges]);
    for (const r of ranges) this.data.fill(0, r.lba * BS, (r.lba + r.blocks) * BS);
  }
  async writeZeroes(lba: number, blocks: number, opts?: WriteOptions & { noHole?: boolean }): Promise<void> {
    this.calls.push(['writeZeroes', lba, blocks, opts]);
    this.data.fill(0, lba * BS, (lba + blocks) * BS);
  }
  async allocation(lba: number, blocks: number): Promise<AllocationExtent[]> {
    this.calls.push(['allocation', lba, blocks]);
    return [{ blocks, hole: false, zero: false }];
  }
}

test('a LayerDevice without overrides forwards every member of the contract, as the device below changes', async () => {
  const mem = new MemoryDevice('vol', 64, true);
  const dev = new LayerDevice(mem);
  assert.deepEqual([dev.name, dev.blockSize, dev.blockCount, dev.readOnly, dev.optimalIoSize], ['vol', BS, 64, false, 4096]);
  mem.grow(128);
  mem.readOnly = true;
  assert.deepEqual([dev.blockCount, dev.readOnly], [128, true], 'properties are read from below at each access (LD expansion, RV access)');

  const buf = Buffer.alloc(2 * BS, 7);
  await dev.write(4, buf, { fua: true });
  assert.ok(dev.writeAtomic, 'a device that writes atomically stays one through the layer');
  await dev.writeAtomic(10, buf, { fua: true });
  assert.ok((await dev.read(4, 2)).equals(buf));
  await dev.flush();
  await dev.unmap([{ lba: 4, blocks: 1 }]);
  await dev.writeZeroes(10, 2, { noHole: true });
  assert.deepEqual(await dev.allocation(0, 8), [{ blocks: 8, hole: false, zero: false }]);
  assert.deepEqual(mem.calls, [
    ['write', 4, 2 * BS, { fua: true }],
    ['writeAtomic', 10, 2 * BS, { fua: true }],
    ['read', 4, 2],
    ['flush'],
    ['unmap', [{ lba: 4, blocks: 1 }]],
    ['writeZeroes', 10, 2, { noHole: true }],
    ['allocation', 0, 8],
  ]);

  assert.equal(new LayerDevice(new MemoryDevice('plain', 8, false)).writeAtomic, undefined, 'no WRITE ATOMIC where the device below has none');
});

/** A layer that changes one thing: it counts the blocks written through it (the shape of a statistics layer). */
class CountingDevice extends LayerDevice {
  written = 0;
  constructor(
    below: BlockDevice,
    readonly label: string,
    private readonly order: string[],
  ) {
    super(below);
  }
  override write(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.order.push(this.label);
    this.written += buf.length / this.blockSize;
    return super.write(lba, buf, opts);
  }
  protected override atomicWrite(lba: number, buf: Buffer, opts?: WriteOptions): Promise<void> {
    this.written += buf.length / this.blockSize;
    return super.atomicWrite(lba, buf, opts);
  }
}

test('buildStack puts the layers on the base bottom first; each overrides only what it changes', async () => {
  const mem = new MemoryDevice('vol', 64, true);
  const order: string[] = [];
  const made: Array<{ label: string; base: BlockDevice; dev: CountingDevice }> = [];
  const counting =
    (label: string): Layer<MemoryDevice> =>
    (below, base) => {
      const dev = new CountingDevice(below, label, order);
      made.push({ label, base, dev });
      return dev;
    };

  assert.equal(buildStack(mem, []), mem, 'no layers: the base itself');

  const top = buildStack(mem, [counting('lower'), counting('upper')]);
  assert.deepEqual(
    made.map((m) => [m.label, m.base]),
    [
      ['lower', mem],
      ['upper', mem],
    ],
    'every layer is built over the one below it and told the base',
  );
  assert.equal(top, made[1]!.dev);
  await top.write(0, Buffer.alloc(4 * BS, 1));
  assert.deepEqual(order, ['upper', 'lower'], 'I/O enters at the top and goes down');
  await top.writeAtomic!(8, Buffer.alloc(2 * BS, 2));
  assert.deepEqual(
    made.map((m) => m.dev.written),
    [6, 6],
  );
  assert.ok((await top.read(0, 4)).equals(Buffer.alloc(4 * BS, 1)), 'what a layer does not override passes through');
  assert.equal(top.name, 'vol');
  assert.deepEqual(
    mem.calls.map((c) => c[0]),
    ['write', 'writeAtomic', 'read'],
  );
});

// KernelView.nonZeroWord (what the untyped_free invariant reads) answers what a scan of userWord
// finds, on every layer: the first non-zero word of a range, or null.
import { describe, expect, it } from 'vitest';
import { layerNames, seL4_CapInitThreadCNode, seL4_MessageInfo_new, InvocationLabel, type KernelView } from '../../libsel4/index.ts';
import { bootSystem } from '../../refinement/system.ts';

function scan(view: KernelView, from: number, to: number): number | null {
  for (let paddr = Math.ceil(from / 4) * 4; paddr < to; paddr += 4) if (view.userWord(paddr) !== 0) return paddr;
  return null;
}

describe.each(layerNames)('nonZeroWord on %s', (layer) => {
  it('equals the first non-zero word a scan of userWord finds, for ranges in and around the IPC buffer', () => {
    const sys = bootSystem({ layer });
    // A Call with message words leaves the reply's words in the root's IPC buffer: some non-zero, some zero.
    [0, 0x1234, 0, 0x5678, 0, 0, 0x9abc].forEach((word, i) => sys.api.seL4_SetMR(i, word));
    sys.api.seL4_Call(seL4_CapInitThreadCNode, seL4_MessageInfo_new(InvocationLabel.CNodeCopy, 0, 0, 7));
    const view = sys.view();
    const frame = sys.plan.ipcBufferFrame;
    expect(scan(view, frame, frame + 4096)).not.toBeNull();
    for (const [from, to] of [[frame - 256, frame + 4096 + 256], [frame, frame + 4096], [frame + 1, frame + 40], [frame + 20, frame + 24], [frame + 4096, frame + 8192], [frame + 3, frame + 3]] as const) {
      expect(view.nonZeroWord(from, to), `[${from.toString(16)}, ${to.toString(16)})`).toBe(scan(view, from, to));
    }
  });
});

// Compile-time checks (tsc fails when one stops holding): the SDK's wx calls are those
// WeChat's official typings allow, and PATCH is not among wx.request's methods.
import type { Wx, WxMethod } from '../../src/transport';

export function refusedByTheTypings(w: Wx): void {
  // @ts-expect-error wx.request has no PATCH; the SDK sends it as POST + X-HTTP-Method-Override.
  w.request({ url: 'https://example.org/', method: 'PATCH' });
  // @ts-expect-error the SDK's Wx names only the functions it uses.
  w.uploadFile({ url: 'https://example.org/', filePath: 'x', name: 'file' });
}

// @ts-expect-error PATCH is not a WxMethod.
export const patch: WxMethod = 'PATCH';

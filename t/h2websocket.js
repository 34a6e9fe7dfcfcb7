// RFC 8441 extended CONNECT (a WebSocket over HTTP/2) to 127.0.0.1 over
// h2c; prints "enableConnectProtocol <bool>" and "status <code>".
//   node t/h2websocket.js PORT AUTHORITY
'use strict';
const http2 = require('http2');
const [port, authority] = process.argv.slice(2);
const s = http2.connect(`http://127.0.0.1:${port}`);
s.on('error', e => { console.log('session error', e.code); process.exit(2); });
s.on('remoteSettings', (st) => {
  console.log('enableConnectProtocol', st.enableConnectProtocol);
  const req = s.request({':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/ws', ':authority': authority, 'sec-websocket-version': '13', 'origin': 'http://' + authority});
  req.on('response', h => { console.log('status', h[':status']); s.close(); process.exit(0); });
  req.on('error', e => { console.log('req error', e.code, e.message); process.exit(3); });
});
setTimeout(() => { console.log('timeout'); process.exit(4); }, 5000);

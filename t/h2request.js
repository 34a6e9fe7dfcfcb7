// Sends one HTTP/2 request over h2c (prior knowledge) to 127.0.0.1 and
// prints "status <code>" and the body.  Used by t/09_http2.t, t/23_tls.t.
//   node t/h2request.js PORT METHOD AUTHORITY [PATH]
// CONNECT requests carry only :method and :authority (RFC 9113 8.5).
// H2_TLS=SNI-NAME: h2 over TLS (ALPN h2) with that SNI instead, the
// certificate not verified (the tests make their own).
// H2_ADDR=ADDRESS: connect to that loopback address instead of 127.0.0.1
// (::1 for HTTP/2 over IPv6).
'use strict';
const http2 = require('http2');

const [port, method, authority, path] = process.argv.slice(2);
const sni = process.env.H2_TLS;
const addr = process.env.H2_ADDR || '127.0.0.1';
const hostport = `${addr.includes(':') ? `[${addr}]` : addr}:${port}`;
const session = sni
  ? http2.connect(`https://${hostport}`, { servername: sni, rejectUnauthorized: false })
  : http2.connect(`http://${hostport}`);
session.on('error', (e) => { console.log(`error ${e.code || e.message}`); process.exit(2); });

const headers = { ':method': method, ':authority': authority };
if (method !== 'CONNECT') {
  headers[':scheme'] = sni ? 'https' : 'http';
  headers[':path'] = path || '/';
}
const req = session.request(headers, method === 'CONNECT' ? {} : { endStream: true });
let body = '';
req.setEncoding('utf8');
req.on('response', (h) => { console.log(`status ${h[':status']}`); });
req.on('data', (d) => { body += d; });
req.on('end', () => { console.log(body); session.close(); });
req.on('error', (e) => { console.log(`error ${e.code || e.message}`); session.close(); });
setTimeout(() => { console.log('error timeout'); process.exit(3); }, 10000).unref();

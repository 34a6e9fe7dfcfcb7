/* An empty module, for bench/callgrind.pl: no hooks, no configuration.
 * Loading any module costs httpd a little on every request (one more slot
 * in each configuration merge, every later allocation of the request
 * shifted, which moves string functions' alignment); measured with this
 * module, that share is told apart from what mod_proxyguard's code costs. */
#include "httpd.h"
#include "http_config.h"

module AP_MODULE_DECLARE_DATA pgnull_module = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL, NULL, 0
};

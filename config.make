# nginx has no CXXFLAGS: give each C++ object its own flags, dropping the
# C-only warnings (which g++ rejects under -Werror) so -Werror stays on.
ngx_llmproxy_c_only="-Werror=implicit-function-declaration -Wmissing-prototypes -Wstrict-prototypes -Wdeclaration-after-statement -Wno-declaration-after-statement -Wold-style-definition -Wnested-externs -Wimplicit-int -std=gnu99 -std=c99 -std=gnu11"

for ngx_llmproxy_src in $LLMPROXY_NGX_SRCS; do
    ngx_llmproxy_obj="$NGX_OBJS/addon/ngx/`basename $ngx_llmproxy_src .cpp`.o"
    echo "$ngx_llmproxy_obj: CFLAGS := \$(filter-out $ngx_llmproxy_c_only,\$(CFLAGS)) -std=c++17 -fvisibility=hidden -fvisibility-inlines-hidden -DRAPIDJSON_SSE2" >> $NGX_MAKEFILE
done
